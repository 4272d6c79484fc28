import { Controller, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Principal } from '../auth/principal';
import { PageQueryDto } from '../common/pagination/cursor';
import { IdParam } from '../common/validation/id-param';
import { RunSettlements } from './run-settlements.usecase';
import { SettlementDetailDto, SettlementPageDto, SettlementRunDto } from './settlements.dto';
import { SettlementsService, SettlementView } from './settlements.service';

@ApiTags('settlements')
@ApiBearerAuth()
@Controller('v1/settlements')
export class SettlementsController {
  constructor(
    private readonly runSettlementsUseCase: RunSettlements,
    private readonly settlements: SettlementsService,
  ) {}

  @Post('run')
  @Roles('operator')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    operationId: 'runSettlements',
    summary: "Batch every released, unsettled fee in the operator's district now (else daily)",
  })
  @ApiOkResponse({ type: SettlementRunDto })
  async runSettlements(
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ batches: SettlementView[] }> {
    const batches = await this.runSettlementsUseCase.execute({
      districtId: principal.districtId,
      actor: principal.sub,
    });
    return {
      batches: batches.map((batch) => ({
        id: batch.id,
        institutionId: batch.institutionId,
        amountFen: batch.amountFen,
        lessonCount: batch.lessonCount,
        status: batch.status,
        instructionId: batch.instructionId,
        createdAt: batch.createdAt.toISOString(),
        paidAt: null,
      })),
    };
  }

  @Get()
  @Roles('institution', 'auditor', 'operator')
  @ApiOperation({ operationId: 'listSettlements', summary: 'Settlement batches in scope' })
  @ApiOkResponse({ type: SettlementPageDto })
  listSettlements(@CurrentPrincipal() principal: Principal, @Query() query: PageQueryDto) {
    return this.settlements.list(principal, query);
  }

  @Get(':id')
  @Roles('institution', 'auditor', 'operator')
  @ApiOperation({ operationId: 'getSettlement', summary: 'A batch with the lessons it pays' })
  @ApiOkResponse({ type: SettlementDetailDto })
  getSettlement(@IdParam() id: string, @CurrentPrincipal() principal: Principal) {
    return this.settlements.get(principal, id);
  }
}
