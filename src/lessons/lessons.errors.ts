import { defineErrors } from '../common/errors/domain.exception';
import { onConstraintViolation } from '../common/errors/database-errors';

/**
 * The lesson feature's codes. An unknown order is orders' ORDER_NOT_FOUND and an inactive
 * institution institutions' INSTITUTION_NOT_ACTIVE: one code, one owner.
 */
export enum LessonErrorCode {
  LESSON_NOT_FOUND = 'LESSON_NOT_FOUND',
  ORDER_NOT_ACTIVE = 'ORDER_NOT_ACTIVE',
  LESSON_IN_FUTURE = 'LESSON_IN_FUTURE',
  LESSON_BEFORE_COURSE_START = 'LESSON_BEFORE_COURSE_START',
  LESSONS_EXHAUSTED = 'LESSONS_EXHAUSTED',
  LESSON_ALREADY_RECORDED = 'LESSON_ALREADY_RECORDED',
  LESSON_ALREADY_CONFIRMED = 'LESSON_ALREADY_CONFIRMED',
  LESSON_DISPUTED = 'LESSON_DISPUTED',
  LESSON_REFUNDED = 'LESSON_REFUNDED',
  LESSON_NOT_DISPUTED = 'LESSON_NOT_DISPUTED',
}

export const lessonError = defineErrors<LessonErrorCode>({
  LESSON_NOT_FOUND: { status: 404, title: 'No such lesson' },
  ORDER_NOT_ACTIVE: { status: 409, title: 'The order is not active' },
  LESSON_IN_FUTURE: { status: 422, title: 'The lesson has not been delivered yet' },
  LESSON_BEFORE_COURSE_START: { status: 422, title: 'The lesson is before the course starts' },
  LESSONS_EXHAUSTED: { status: 409, title: 'Every lesson of the order is recorded' },
  LESSON_ALREADY_RECORDED: { status: 409, title: 'This lesson is already recorded' },
  LESSON_ALREADY_CONFIRMED: { status: 409, title: 'The lesson is already confirmed' },
  LESSON_DISPUTED: { status: 409, title: 'The lesson is disputed' },
  LESSON_REFUNDED: { status: 409, title: 'The lesson was refunded' },
  LESSON_NOT_DISPUTED: { status: 409, title: 'The lesson is not disputed' },
});

onConstraintViolation('uq_lessons_order_delivered_at', () =>
  lessonError(
    LessonErrorCode.LESSON_ALREADY_RECORDED,
    'A lesson of this order delivered at this time is already recorded.',
  ),
);
