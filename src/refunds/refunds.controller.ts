import { Body, Controller, Get, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { Principal } from '../auth/principal';
import { Idempotency } from '../common/idempotency/idempotency-key.decorator';
import { IdempotentCommand } from '../common/idempotency/idempotent-command.decorator';
import { IdempotentRequest } from '../common/idempotency/idempotency.service';
import { IdParam } from '../common/validation/id-param';
import { DecideRefund } from './decide-refund.usecase';
import { InstitutionClosure } from './institution-closure';
import {
  ClosureProgressDto,
  OperatorRefundDecisionDto,
  RefundDto,
  RefundListDto,
  RejectRefundDto,
  RequestRefundDto,
} from './refunds.dto';
import { RefundsService } from './refunds.service';
import { RequestRefund } from './request-refund.usecase';

class RefundsQueryDto {
  @IsUUID('all')
  @ApiProperty({ format: 'uuid' })
  orderId!: string;
}

@ApiTags('refunds')
@ApiBearerAuth()
@Controller('v1')
export class RefundsController {
  constructor(
    private readonly requestRefundUseCase: RequestRefund,
    private readonly decideRefundUseCase: DecideRefund,
    private readonly refunds: RefundsService,
    private readonly closure: InstitutionClosure,
  ) {}

  @Post('orders/:id/refunds')
  @IdempotentCommand({
    roles: ['parent', 'operator'],
    operationId: 'requestRefund',
    summary: 'Ask for the unconsumed money of an order back (operators: refund it at once)',
    status: HttpStatus.ACCEPTED,
    response: RefundDto,
  })
  requestRefund(
    @IdParam() orderId: string,
    @Body() body: RequestRefundDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ) {
    return this.requestRefundUseCase.execute({ principal, idempotency, orderId, ...body });
  }

  @Post('refunds/:id/approve')
  @IdempotentCommand({
    roles: ['institution'],
    operationId: 'approveRefund',
    summary: 'The institution agrees to refund',
    response: RefundDto,
  })
  approveRefund(
    @IdParam() refundId: string,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ) {
    return this.decideRefundUseCase.execute({
      principal,
      idempotency,
      refundId,
      decision: { by: 'institution', outcome: 'approve' },
    });
  }

  @Post('refunds/:id/reject')
  @IdempotentCommand({
    roles: ['institution'],
    operationId: 'rejectRefund',
    summary: 'The institution refuses; an operator of the bureau decides',
    response: RefundDto,
  })
  rejectRefund(
    @IdParam() refundId: string,
    @Body() body: RejectRefundDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ) {
    return this.decideRefundUseCase.execute({
      principal,
      idempotency,
      refundId,
      decision: { by: 'institution', outcome: 'reject', reason: body.reason },
    });
  }

  @Post('refunds/:id/decide')
  @IdempotentCommand({
    roles: ['operator'],
    operationId: 'decideRefund',
    summary: 'An operator approves or declines a refund the institution rejected',
    response: RefundDto,
  })
  decideRefund(
    @IdParam() refundId: string,
    @Body() body: OperatorRefundDecisionDto,
    @CurrentPrincipal() principal: Principal,
    @Idempotency() idempotency?: IdempotentRequest,
  ) {
    return this.decideRefundUseCase.execute({
      principal,
      idempotency,
      refundId,
      decision: { by: 'operator', outcome: body.outcome, note: body.note },
    });
  }

  @Get('refunds/:id')
  @Roles('parent', 'institution', 'auditor', 'operator')
  @ApiOperation({ operationId: 'getRefund', summary: 'A refund and where it stands' })
  @ApiOkResponse({ type: RefundDto })
  getRefund(@IdParam() refundId: string, @CurrentPrincipal() principal: Principal) {
    return this.refunds.get(principal, refundId);
  }

  @Get('refunds')
  @Roles('parent', 'institution', 'auditor', 'operator')
  @ApiOperation({ operationId: 'listRefunds', summary: 'The refunds of an order' })
  @ApiOkResponse({ type: RefundListDto })
  listRefunds(@Query() query: RefundsQueryDto, @CurrentPrincipal() principal: Principal) {
    return this.refunds.listForOrder(principal, query.orderId);
  }

  @Get('institutions/:id/closure')
  @Roles('auditor', 'operator')
  @ApiOperation({
    operationId: 'getClosureProgress',
    summary: 'How the refunds of a closed institution are going',
  })
  @ApiOkResponse({ type: ClosureProgressDto })
  getClosureProgress(@IdParam() institutionId: string, @CurrentPrincipal() principal: Principal) {
    return this.closure.progress(principal, institutionId);
  }
}
