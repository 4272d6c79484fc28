import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuthErrorCode, authError } from '../../auth/auth.errors';
import type { Principal } from '../../auth/principal';
import { chinaDate } from '../../common/time/china-date';
import {
  IdempotencyService,
  IdempotentRequest,
} from '../../common/idempotency/idempotency.service';
import { Course } from '../../courses/course.entity';
import { InstitutionQueries } from '../../institutions/institution.queries';
import { InstitutionErrorCode, institutionError } from '../../institutions/institutions.errors';
import { Order } from '../../orders/entities/order.entity';
import { OrderErrorCode, orderError } from '../../orders/orders.errors';
import { lessonFeeFen } from '../lesson-fee';
import { LessonLedger } from '../lesson-ledger';
import { LessonDto, toLessonDto } from '../lesson-view.dto';
import { Lesson } from '../lesson.entity';
import { LessonErrorCode, lessonError } from '../lessons.errors';

export interface RecordLessonCommand {
  principal: Principal;
  idempotency?: IdempotentRequest;
  orderId: string;
  deliveredAt: Date;
  note?: string;
}

/** How far an institution's clock may run ahead of ours. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * An institution records a delivered lesson of one of its active orders: the lesson gets the next
 * sequence number and its fee is held in the ledger until the parent confirms or disputes.
 */
@Injectable()
export class RecordLesson {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly institutions: InstitutionQueries,
    private readonly lessonLedger: LessonLedger,
  ) {}

  execute(command: RecordLessonCommand): Promise<LessonDto> {
    const { principal, orderId, deliveredAt } = command;
    const institutionId = principal.institutionId;
    if (institutionId === undefined) {
      throw authError(AuthErrorCode.FORBIDDEN_ROLE, 'only institution staff record lessons');
    }
    return this.idempotency.execute(command.idempotency, async (manager) => {
      // Institution, then order: the order in which suspension and closure lock them too. The
      // share lock keeps the institution's status from changing under this lesson.
      const institution = await this.institutions.lock(manager, principal, institutionId, 'share');
      const order = await manager
        .createQueryBuilder(Order, 'o')
        .where('o.id = :orderId', { orderId })
        .andWhere('o.institutionId = :institutionId', { institutionId })
        .setLock('pessimistic_write')
        .getOne();
      if (!order) throw orderError(OrderErrorCode.ORDER_NOT_FOUND, `no order ${orderId}`);
      if (institution.status !== 'active') {
        throw institutionError(
          InstitutionErrorCode.INSTITUTION_NOT_ACTIVE,
          `the institution is ${institution.status}`,
        );
      }
      if (order.status !== 'active') {
        throw lessonError(LessonErrorCode.ORDER_NOT_ACTIVE, `the order is ${order.status}`);
      }
      if (deliveredAt.getTime() > Date.now() + CLOCK_SKEW_MS) {
        throw lessonError(LessonErrorCode.LESSON_IN_FUTURE, 'deliveredAt is in the future');
      }
      const course = await manager.findOneOrFail(Course, {
        select: { id: true, startsOn: true },
        where: { id: order.courseId },
      });
      const deliveredOn = chinaDate(deliveredAt);
      if (deliveredOn < course.startsOn) {
        throw lessonError(
          LessonErrorCode.LESSON_BEFORE_COURSE_START,
          `delivered on ${deliveredOn}, the course starts on ${course.startsOn}`,
        );
      }
      const recorded = await manager.countBy(Lesson, { orderId: order.id });
      if (recorded >= order.lessonsPaid + order.bonusLessons) {
        throw lessonError(
          LessonErrorCode.LESSONS_EXHAUSTED,
          `all ${recorded} lessons of the order are recorded`,
        );
      }
      const sequence = recorded + 1;
      const lesson = manager.create(Lesson, {
        id: randomUUID(),
        orderId: order.id,
        institutionId: order.institutionId,
        sequence,
        deliveredAt,
        note: command.note ?? null,
        feeFen: lessonFeeFen(order, sequence),
        status: 'awaiting_confirmation',
        settleTransactionId: null,
        confirmedAt: null,
        confirmedBy: null,
        confirmationRule: null,
        rating: null,
        comment: null,
        disputeReason: null,
        disputedAt: null,
        resolvedOutcome: null,
        resolvedBy: null,
        resolutionNote: null,
        resolvedAt: null,
        recordedBy: principal.sub,
      });
      lesson.holdTransactionId = await this.lessonLedger.hold(manager, order, lesson);
      await manager.insert(Lesson, lesson);
      return toLessonDto(lesson);
    });
  }
}
