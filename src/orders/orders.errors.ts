import { defineErrors } from '../common/errors/domain.exception';
import { onConstraintViolation } from '../common/errors/database-errors';

export enum OrderErrorCode {
  ORDER_NOT_FOUND = 'ORDER_NOT_FOUND',
  COURSE_NOT_FOUND = 'COURSE_NOT_FOUND',
  COURSE_ENDED = 'COURSE_ENDED',
  ORDER_LESSON_CAP_EXCEEDED = 'ORDER_LESSON_CAP_EXCEEDED',
  ORDER_SPAN_CAP_EXCEEDED = 'ORDER_SPAN_CAP_EXCEEDED',
  ORDER_AMOUNT_CAP_EXCEEDED = 'ORDER_AMOUNT_CAP_EXCEEDED',
  ORDER_EXCEEDS_COURSE = 'ORDER_EXCEEDS_COURSE',
  RENEWAL_TOO_EARLY = 'RENEWAL_TOO_EARLY',
  PAYMENT_ALREADY_RECORDED = 'PAYMENT_ALREADY_RECORDED',
}

export const orderError = defineErrors<OrderErrorCode>({
  ORDER_NOT_FOUND: { status: 404, title: 'Order not found' },
  COURSE_NOT_FOUND: { status: 404, title: 'Course not found' },
  COURSE_ENDED: { status: 422, title: 'The course has ended' },
  ORDER_LESSON_CAP_EXCEEDED: { status: 422, title: 'Too many lessons in one purchase' },
  ORDER_SPAN_CAP_EXCEEDED: { status: 422, title: 'The purchase spans too long a period' },
  ORDER_AMOUNT_CAP_EXCEEDED: { status: 422, title: 'The purchase costs too much' },
  ORDER_EXCEEDS_COURSE: { status: 422, title: 'More lessons than the course has' },
  RENEWAL_TOO_EARLY: { status: 422, title: 'Too many lessons still unused to renew' },
  PAYMENT_ALREADY_RECORDED: { status: 409, title: 'This bank transaction is already recorded' },
});

onConstraintViolation('uq_payments_bank_txn_id', () =>
  orderError(
    OrderErrorCode.PAYMENT_ALREADY_RECORDED,
    'A payment with this bank transaction id is already recorded.',
  ),
);
