/**
 * A parent asks for the unconsumed part of an order back (DESIGN.md rules 11–12), or an operator
 * orders a refund (institution default, over-cap money): an operator's refund is approved at once.
 */
import { Injectable } from '@nestjs/common';
import { Principal } from '../auth/principal';
import { BankInstructionsService } from '../bank/bank-instructions.service';
import { IdempotencyService, IdempotentRequest } from '../common/idempotency/idempotency.service';
import { OrderErrorCode, orderError } from '../orders/orders.errors';
import { PARENT_REFUND_REASONS, RefundReason } from './refund.entity';
import { RefundWorkflow, lockOrder } from './refund-workflow';
import { RefundErrorCode, refundError } from './refunds.errors';
import { RefundView, RefundsService } from './refunds.service';

export interface RequestRefundCommand {
  principal: Principal;
  idempotency?: IdempotentRequest;
  orderId: string;
  reason: RefundReason;
  note?: string;
  amountFen?: number;
}

@Injectable()
export class RequestRefund {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly workflow: RefundWorkflow,
    private readonly instructions: BankInstructionsService,
    private readonly refunds: RefundsService,
  ) {}

  async execute(command: RequestRefundCommand): Promise<RefundView> {
    const { principal } = command;
    const byOperator = principal.role === 'operator';
    if (!byOperator && !(PARENT_REFUND_REASONS as readonly string[]).includes(command.reason)) {
      throw refundError(
        RefundErrorCode.REFUND_REASON_NOT_ALLOWED,
        `Parents may give ${PARENT_REFUND_REASONS.join(', ')}; ${command.reason} is for operators.`,
      );
    }
    if (!byOperator && command.amountFen !== undefined) {
      throw refundError(
        RefundErrorCode.REFUND_REASON_NOT_ALLOWED,
        'A parent’s refund is always everything still refundable; only operators set an amount.',
      );
    }
    const { refundId, instructionId } = await this.idempotency.execute(
      command.idempotency,
      async (manager) => {
        const order = await lockOrder(
          manager,
          command.orderId,
          byOperator
            ? { where: 'o.district_id = :key', params: { key: principal.districtId } }
            : { where: 'o.parent_id = :key', params: { key: principal.sub } },
        );
        if (!order) throw orderError(OrderErrorCode.ORDER_NOT_FOUND, 'No order with this id.');
        if (command.reason === 'before_start') {
          const [{ n }]: { n: number }[] = await manager.query(
            'SELECT count(*)::int AS n FROM lessons WHERE order_id = $1',
            [order.id],
          );
          if (n > 0) {
            throw refundError(
              RefundErrorCode.REFUND_REASON_NOT_ALLOWED,
              'Lessons have already been given; ask for a mid_course refund of the remainder.',
            );
          }
        }
        const opened = await this.workflow.open(manager, {
          order,
          reason: command.reason,
          note: command.note,
          actor: principal.sub,
          amountFen: command.amountFen,
          approveAs: byOperator ? 'operator' : undefined,
        });
        return { refundId: opened.refund.id, instructionId: opened.instructionId };
      },
    );
    if (instructionId) await this.instructions.enqueue([instructionId]);
    return this.refunds.get(principal, refundId);
  }
}
