/**
 * A lesson's money, as DESIGN.md §4 books it: recording holds the fee (order_escrow →
 * settlement_payable, pending); a release posts the hold, a refund voids it. A bonus lesson
 * (fee 0) has no hold and books nothing.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Bind, binder } from '../database/binder';
import { queryPrepared } from '../database/query-prepared';
import {
  LedgerService,
  named,
  resolveRequestedHoldsSql,
  resolvedIds,
} from '../ledger/ledger.service';
import type { Order } from '../orders/entities/order.entity';
import type { Lesson } from './lesson.entity';

/** How a lesson's hold is resolved: posted (its fee released) or voided (refunded). */
export type LessonResolution = 'post' | 'void';

/** The ledger transaction of each resolution: its kind, and its reference after the lesson id. */
const RESOLUTIONS = {
  post: { kind: 'lesson_release', reference: 'release' },
  void: { kind: 'lesson_void', reference: 'void' },
} as const;

/**
 * The ledger's part of a statement that resolves lessons' holds, the one way a lesson's hold is
 * posted or voided: the CTE `request`, one per lesson of `lessons` that holds a fee and meets
 * `keep`, then the ledger's `tx` (returning id and pending_id) and `postings`. `lessons` names a
 * CTE with the columns id, order_id, hold_transaction_id, settle_transaction_id (the resolving
 * transaction's id, or null to draw one) and n (the order to write them in).
 */
export function lessonResolutionSql(
  bind: Bind,
  resolution: LessonResolution,
  lessons: string,
  keep = 'true',
): string {
  const { kind, reference } = RESOLUTIONS[resolution];
  return `request AS (
    SELECT hold_transaction_id AS pending_id, ${bind(kind)}::text AS kind,
           'lesson:' || id || ${bind(`:${reference}`)}::text AS reference,
           jsonb_build_object('lessonId', id, 'orderId', order_id) AS metadata,
           settle_transaction_id AS id, n
    FROM ${lessons}
    WHERE hold_transaction_id IS NOT NULL AND ${keep}),
  ${resolveRequestedHoldsSql(bind, resolution)}`;
}

@Injectable()
export class LessonLedger {
  constructor(private readonly ledger: LedgerService) {}

  /** Holds the fee of a lesson being recorded; returns the pending transaction id. */
  async hold(
    manager: EntityManager,
    order: Order,
    lesson: { id: string; sequence: number; feeFen: number },
  ): Promise<string | null> {
    if (lesson.feeFen === 0) return null;
    const accounts = await this.ledger.institutionAccounts(manager, order.institutionId);
    return this.ledger.hold(manager, {
      kind: 'lesson_hold',
      reference: `lesson:${lesson.id}:hold`,
      institutionId: order.institutionId,
      transfers: [
        {
          debitAccountId: order.escrowAccountId,
          creditAccountId: accounts.settlement_payable,
          amountFen: lesson.feeFen,
        },
      ],
      metadata: { lessonId: lesson.id, orderId: order.id, sequence: lesson.sequence },
    });
  }

  /** Moves the held fee to the institution for good; returns the posting transaction id. */
  release(manager: EntityManager, lesson: Lesson): Promise<string | null> {
    return this.resolve(manager, lesson, 'post');
  }

  /** Returns the held fee to the order's escrow; returns the voiding transaction id. */
  refund(manager: EntityManager, lesson: Lesson): Promise<string | null> {
    return this.resolve(manager, lesson, 'void');
  }

  /**
   * One lesson's hold resolved. The caller holds the lesson's lock and read `lesson` under it: its
   * ids are taken as they are, not read again.
   */
  private async resolve(
    manager: EntityManager,
    lesson: Lesson,
    resolution: LessonResolution,
  ): Promise<string | null> {
    const pendingId = lesson.holdTransactionId;
    if (pendingId === null) return null;
    const params: unknown[] = [];
    const bind = binder(params);
    const text = `WITH lesson AS (
        SELECT ${bind(lesson.id)}::uuid AS id, ${bind(lesson.orderId)}::uuid AS order_id,
               ${bind(pendingId)}::uuid AS hold_transaction_id,
               NULL::uuid AS settle_transaction_id, 1 AS n),
      ${lessonResolutionSql(bind, resolution, 'lesson')}
      SELECT id, pending_id FROM tx`;
    const rows: { id: string; pending_id: string }[] = await named(
      queryPrepared(manager, `lessons.${resolution}`, text, params),
    );
    const [id] = resolvedIds([{ pendingId }], rows);
    return id;
  }
}
