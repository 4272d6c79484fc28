import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { Idempotency } from '../common/idempotency/idempotency-key.decorator';
import { IdempotentCommand } from '../common/idempotency/idempotent-command.decorator';
import type { IdempotentRequest } from '../common/idempotency/idempotency.service';
import { PageQueryDto } from '../common/pagination/cursor';
import { IdParam } from '../common/validation/id-param';
import { ResolveDisputeDto } from './lesson.dto';
import { DisputePageDto, LessonDto } from './lesson-view.dto';
import { LessonsService } from './lessons.service';
import { ResolveDispute } from './usecases/resolve-dispute';

@ApiTags('disputes')
@ApiBearerAuth()
@Controller('v1/disputes')
export class DisputesController {
  constructor(
    private readonly lessons: LessonsService,
    private readonly resolve: ResolveDispute,
  ) {}

  @Get()
  @Roles('operator', 'auditor')
  @ApiOperation({ operationId: 'listDisputes', summary: 'Open disputes in your district' })
  @ApiOkResponse({ type: DisputePageDto })
  listDisputes(
    @Query() query: PageQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DisputePageDto> {
    return this.lessons.listDisputes(principal, query);
  }

  @Post(':lessonId/resolve')
  @IdempotentCommand({
    roles: ['operator'],
    operationId: 'resolveDispute',
    summary: 'Decide a dispute in your district: release the fee or refund it to the order',
    response: LessonDto,
    refusals: {
      404: 'LESSON_NOT_FOUND (also another district’s)',
      409: 'LESSON_NOT_DISPUTED, IDEMPOTENCY_KEY_REUSED',
    },
  })
  resolveDispute(
    @IdParam('lessonId') lessonId: string,
    @Body() body: ResolveDisputeDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ): Promise<LessonDto> {
    return this.resolve.execute({
      principal,
      idempotency,
      lessonId,
      outcome: body.outcome,
      note: body.note,
    });
  }
}
