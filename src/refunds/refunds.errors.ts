import { onConstraintViolation } from '../common/errors/database-errors';
import { defineErrors } from '../common/errors/domain.exception';

export enum RefundErrorCode {
  REFUND_NOT_FOUND = 'REFUND_NOT_FOUND',
  REFUND_ALREADY_OPEN = 'REFUND_ALREADY_OPEN',
  NOTHING_TO_REFUND = 'NOTHING_TO_REFUND',
  ORDER_NOT_REFUNDABLE = 'ORDER_NOT_REFUNDABLE',
  REFUND_REASON_NOT_ALLOWED = 'REFUND_REASON_NOT_ALLOWED',
  REFUND_NOT_PENDING_DECISION = 'REFUND_NOT_PENDING_DECISION',
}

export const refundError = defineErrors<RefundErrorCode>({
  REFUND_NOT_FOUND: { status: 404, title: 'Refund not found' },
  REFUND_ALREADY_OPEN: { status: 409, title: 'A refund of this order is already being decided' },
  NOTHING_TO_REFUND: { status: 409, title: 'Nothing left to refund' },
  ORDER_NOT_REFUNDABLE: { status: 409, title: 'The order cannot be refunded' },
  REFUND_REASON_NOT_ALLOWED: { status: 422, title: 'This reason does not apply' },
  REFUND_NOT_PENDING_DECISION: { status: 409, title: 'The refund is not awaiting this decision' },
});

onConstraintViolation('uq_refunds_open_order', () =>
  refundError(
    RefundErrorCode.REFUND_ALREADY_OPEN,
    'This order already has a refund being decided.',
  ),
);
