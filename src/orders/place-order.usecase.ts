/**
 * A parent buys a package of lessons (DESIGN.md §3 rules 1–5, §5.1). The order waits for its
 * payment into the institution's custody account; nothing is paid to the institution.
 */
import { Injectable } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { Principal } from '../auth/principal';
import { IdempotencyService, IdempotentRequest } from '../common/idempotency/idempotency.service';
import { formatYuan, toFen } from '../common/money/fen';
import { addMonths, chinaDate } from '../common/time/china-date';
import { DistrictPolicyService } from '../institutions/district-policy.service';
import { InstitutionErrorCode, institutionError } from '../institutions/institutions.errors';
import { LedgerService } from '../ledger/ledger.service';
import { CONTRACT_VERSION, Order } from './entities/order.entity';
import { OrderErrorCode, orderError } from './orders.errors';
import { OrderView, OrdersService } from './orders.service';

export interface PlaceOrderCommand {
  principal: Principal;
  idempotency?: IdempotentRequest;
  courseId: string;
  lessons: number;
  bonusLessons: number;
  studentName: string;
}

interface CourseRow {
  institution_id: string;
  district_id: string;
  institution_status: string;
  lesson_count: number;
  price_fen: string;
  starts_on: string;
  ends_on: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** 120 random bits in 24 base32 characters: unguessable, easy to read out over the phone. */
export function newPaymentReference(): string {
  const bytes = randomBytes(15);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `EL${out}`;
}

@Injectable()
export class PlaceOrder {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly ledger: LedgerService,
    private readonly policies: DistrictPolicyService,
    private readonly orders: OrdersService,
  ) {}

  execute(command: PlaceOrderCommand): Promise<OrderView> {
    return this.idempotency.execute(command.idempotency, async (manager) => {
      const order = await this.place(manager, command);
      return this.orders.viewOf(manager, order);
    });
  }

  private async place(manager: EntityManager, command: PlaceOrderCommand): Promise<Order> {
    // FOR SHARE on the institution: a concurrent suspension or closure waits for this sale.
    const [course]: CourseRow[] = await manager.query(
      `SELECT c.institution_id, i.district_id, i.status AS institution_status, c.lesson_count,
              c.price_fen, c.starts_on::text, c.ends_on::text
       FROM courses c JOIN institutions i ON i.id = c.institution_id
       WHERE c.id = $1
       FOR SHARE OF i`,
      [command.courseId],
    );
    if (!course) throw orderError(OrderErrorCode.COURSE_NOT_FOUND, 'No course with this id.');
    if (course.institution_status !== 'active') {
      throw institutionError(
        InstitutionErrorCode.INSTITUTION_NOT_ACTIVE,
        'This institution is not allowed to take payments at the moment.',
      );
    }
    const policy = await this.policies.get(manager, course.district_id);
    const totalLessons = command.lessons + command.bonusLessons;
    if (totalLessons > policy.maxLessons) {
      throw orderError(
        OrderErrorCode.ORDER_LESSON_CAP_EXCEEDED,
        `One purchase may cover at most ${policy.maxLessons} lessons, bonus lessons included; this one has ${totalLessons}.`,
        { maxLessons: policy.maxLessons },
      );
    }
    if (totalLessons > course.lesson_count) {
      throw orderError(
        OrderErrorCode.ORDER_EXCEEDS_COURSE,
        `The course has ${course.lesson_count} lessons; this purchase asks for ${totalLessons}.`,
      );
    }
    const lessonPriceFen = toFen(course.price_fen);
    const amountFen = toFen(command.lessons * lessonPriceFen);
    if (amountFen > policy.maxAmountFen) {
      throw orderError(
        OrderErrorCode.ORDER_AMOUNT_CAP_EXCEEDED,
        `One purchase may cost at most ${formatYuan(policy.maxAmountFen)} yuan; this one costs ${formatYuan(amountFen)} yuan.`,
        { maxAmountFen: policy.maxAmountFen, amountFen },
      );
    }
    const today = chinaDate();
    if (course.ends_on < today) {
      throw orderError(OrderErrorCode.COURSE_ENDED, `The course ended on ${course.ends_on}.`);
    }
    const firstLessonOn = course.starts_on > today ? course.starts_on : today;
    const latest = addMonths(firstLessonOn, policy.maxSpanMonths);
    if (course.ends_on > latest) {
      throw orderError(
        OrderErrorCode.ORDER_SPAN_CAP_EXCEEDED,
        `One purchase may span at most ${policy.maxSpanMonths} months; lessons would run from ${firstLessonOn} to ${course.ends_on}.`,
        { maxSpanMonths: policy.maxSpanMonths },
      );
    }
    await this.refuseEarlyRenewal(manager, command, policy.renewalThreshold);

    const id = randomUUID();
    const escrowAccountId = await this.ledger.openAccount(manager, {
      code: 'order_escrow',
      institutionId: course.institution_id,
      orderId: id,
    });
    return manager.save(
      manager.create(Order, {
        id,
        institutionId: course.institution_id,
        districtId: course.district_id,
        courseId: command.courseId,
        parentId: command.principal.sub,
        studentName: command.studentName,
        lessonsPaid: command.lessons,
        bonusLessons: command.bonusLessons,
        lessonPriceFen,
        amountFen,
        paymentReference: newPaymentReference(),
        contractVersion: CONTRACT_VERSION,
        status: 'pending_payment',
        escrowAccountId,
        firstLessonOn,
        lastLessonOn: course.ends_on,
      }),
    );
  }

  /** A renewal waits until at most `threshold` lessons of the course remain unused (rule 3). */
  private async refuseEarlyRenewal(
    manager: EntityManager,
    command: PlaceOrderCommand,
    threshold: number,
  ): Promise<void> {
    // One purchase at a time per parent and course, so two cannot both pass the check.
    await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `renewal:${command.principal.sub}:${command.courseId}`,
    ]);
    const [{ remaining }]: { remaining: number }[] = await manager.query(
      `SELECT coalesce(sum(o.lessons_paid + o.bonus_lessons
                           - (SELECT count(*) FROM lessons l WHERE l.order_id = o.id)), 0)::int AS remaining
       FROM orders o
       WHERE o.parent_id = $1 AND o.course_id = $2 AND o.status IN ('pending_payment', 'active')`,
      [command.principal.sub, command.courseId],
    );
    if (remaining > threshold) {
      throw orderError(
        OrderErrorCode.RENEWAL_TOO_EARLY,
        `You still have ${remaining} unused lessons in this course; you can renew when ${threshold} or fewer remain.`,
        { remainingLessons: remaining, renewalThreshold: threshold },
      );
    }
  }
}
