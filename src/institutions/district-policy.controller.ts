import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { PageQueryDto } from '../common/pagination/cursor';
import { Idempotency } from '../common/idempotency/idempotency-key.decorator';
import { IdempotentCommand } from '../common/idempotency/idempotent-command.decorator';
import type { IdempotentRequest } from '../common/idempotency/idempotency.service';
import {
  DistrictPolicyDto,
  DistrictPolicyHistoryDto,
  DistrictPolicyValuesDto,
} from './dto/district-policy.dto';
import { DistrictPolicyQueries } from './district-policy.queries';
import { SetDistrictPolicy } from './usecases/set-district-policy.usecase';
import { DistrictParams } from './validation';

@ApiTags('district policy')
@ApiBearerAuth()
@Controller('v1/districts/:districtId/policy')
export class DistrictPolicyController {
  constructor(
    private readonly setDistrictPolicyUseCase: SetDistrictPolicy,
    private readonly policies: DistrictPolicyQueries,
  ) {}

  @Get()
  @Roles('operator', 'auditor', 'institution')
  @ApiOperation({
    operationId: 'getDistrictPolicy',
    summary: "Your district's policy, or the defaults (version 0) until an operator sets one",
  })
  @ApiOkResponse({ type: DistrictPolicyDto })
  @ApiResponse({ status: 403, description: 'FORBIDDEN_ROLE, FORBIDDEN_SCOPE (another district)' })
  getDistrictPolicy(
    @Param() params: DistrictParams,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DistrictPolicyDto> {
    return this.policies.getDistrictPolicy(principal, params.districtId);
  }

  @Put()
  @IdempotentCommand({
    roles: ['operator'],
    operationId: 'setDistrictPolicy',
    summary: "Replace your district's policy (every field); the version goes up by one",
    response: DistrictPolicyDto,
    refusals: {
      400: 'VALIDATION_FAILED',
      403: 'FORBIDDEN_ROLE, FORBIDDEN_SCOPE (another district)',
    },
  })
  setDistrictPolicy(
    @Param() params: DistrictParams,
    @Body() body: DistrictPolicyValuesDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ): Promise<DistrictPolicyDto> {
    return this.setDistrictPolicyUseCase.execute({
      principal,
      idempotency,
      districtId: params.districtId,
      policy: body,
    });
  }

  @Get('history')
  @Roles('operator', 'auditor')
  @ApiOperation({
    operationId: 'listDistrictPolicyHistory',
    summary: "Every version of your district's policy with who set it and when, newest first",
  })
  @ApiOkResponse({ type: DistrictPolicyHistoryDto })
  @ApiResponse({ status: 403, description: 'FORBIDDEN_ROLE, FORBIDDEN_SCOPE (another district)' })
  listDistrictPolicyHistory(
    @Param() params: DistrictParams,
    @Query() query: PageQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DistrictPolicyHistoryDto> {
    return this.policies.listDistrictPolicyHistory(principal, params.districtId, query);
  }
}
