import { Body, Controller, Get, HttpStatus, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { PageQueryDto } from '../common/pagination/cursor';
import { Idempotency } from '../common/idempotency/idempotency-key.decorator';
import { IdempotentCommand } from '../common/idempotency/idempotent-command.decorator';
import type { IdempotentRequest } from '../common/idempotency/idempotency.service';
import { ChangeInstitutionStatusDto } from './dto/change-institution-status.dto';
import { InstitutionDto, InstitutionPageDto } from './dto/institution.dto';
import { RegisterInstitutionDto } from './dto/register-institution.dto';
import { InstitutionQueries } from './institution.queries';
import { ChangeInstitutionStatus } from './usecases/change-institution-status.usecase';
import { RegisterInstitution } from './usecases/register-institution.usecase';
import { IdParams } from './validation';

@ApiTags('institutions')
@ApiBearerAuth()
@Controller('v1/institutions')
export class InstitutionsController {
  constructor(
    private readonly registerInstitutionUseCase: RegisterInstitution,
    private readonly changeInstitutionStatusUseCase: ChangeInstitutionStatus,
    private readonly institutions: InstitutionQueries,
  ) {}

  @Post()
  @IdempotentCommand({
    roles: ['operator'],
    operationId: 'registerInstitution',
    summary: 'Register an institution of your district with its custody and settlement accounts',
    status: HttpStatus.CREATED,
    response: InstitutionDto,
    refusals: {
      400: 'VALIDATION_FAILED',
      403: 'FORBIDDEN_ROLE, FORBIDDEN_SCOPE (another district)',
      409: 'INSTITUTION_LICENSE_EXISTS, BANK_ACCOUNT_ALREADY_REGISTERED, IDEMPOTENCY_KEY_REUSED',
      422: 'BANK_ACCOUNTS_MUST_DIFFER',
    },
  })
  registerInstitution(
    @Body() body: RegisterInstitutionDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ): Promise<InstitutionDto> {
    return this.registerInstitutionUseCase.execute({ principal, idempotency, registration: body });
  }

  @Patch(':id')
  @IdempotentCommand({
    roles: ['operator'],
    operationId: 'changeInstitutionStatus',
    summary: 'Suspend, reactivate or close an institution of your district (closing is final)',
    response: InstitutionDto,
    refusals: {
      400: 'VALIDATION_FAILED',
      404: 'INSTITUTION_NOT_FOUND (also for other districts)',
      409: 'INSTITUTION_CLOSED, IDEMPOTENCY_KEY_REUSED',
    },
  })
  async changeInstitutionStatus(
    @Param() params: IdParams,
    @Body() body: ChangeInstitutionStatusDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ): Promise<InstitutionDto> {
    const change = await this.changeInstitutionStatusUseCase.execute({
      principal,
      idempotency,
      institutionId: params.id,
      status: body.status,
      reason: body.reason,
    });
    return change.institution;
  }

  @Get()
  @Roles('operator', 'auditor')
  @ApiOperation({
    operationId: 'listInstitutions',
    summary: "Your district's institutions, oldest first, a page at a time",
  })
  @ApiOkResponse({ type: InstitutionPageDto })
  @ApiResponse({ status: 400, description: 'VALIDATION_FAILED (bad cursor or limit)' })
  listInstitutions(
    @Query() query: PageQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<InstitutionPageDto> {
    return this.institutions.listInstitutions(principal, query);
  }

  @Get(':id')
  @Roles('parent', 'institution', 'auditor', 'operator')
  @ApiOperation({
    operationId: 'getInstitution',
    summary:
      'Profile, status and accounts: parents see any institution (custody account only), ' +
      'staff their own, auditors and operators their district',
  })
  @ApiOkResponse({ type: InstitutionDto })
  @ApiResponse({ status: 404, description: 'INSTITUTION_NOT_FOUND (also outside your scope)' })
  getInstitution(
    @Param() params: IdParams,
    @CurrentPrincipal() principal: Principal,
  ): Promise<InstitutionDto> {
    return this.institutions.getInstitution(principal, params.id);
  }
}
