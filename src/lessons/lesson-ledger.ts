/**
 * A lesson's money, as DESIGN.md §4 books it: recording holds the fee (order_escrow →
 * settlement_payable, pending); a release posts the hold, a refund voids it. A bonus lesson
 * (fee 0) has no hold and books nothing.
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Bind } from '../database/binder';
import { LedgerService, ResolveCommand, resolveHoldsSql } from '../ledger/ledger.service';
import type { Order } from '../orders/entities/order.entity';
import type { Lesson } from './lesson.entity';

/** Lessons' fee releases, planned: see LessonLedger.releasesOf. */
export interface Releases {
  ids: (string | null)[];
  commands: ResolveCommand[];
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
  async release(manager: EntityManager, lesson: Lesson): Promise<string | null> {
    const [command] = this.releasesOf([lesson]).commands;
    return command ? this.ledger.postPending(manager, command) : null;
  }

  /**
   * The releases of many lessons' held fees: `ids` are the posting transactions' ids (null for a
   * bonus lesson, which holds nothing), chosen here, so that a confirmation can record them in the
   * statement that writes the ledger (see releaseSql).
   */
  releasesOf(lessons: Lesson[]): Releases {
    const commands: ResolveCommand[] = [];
    const ids = lessons.map((lesson) => {
      if (lesson.holdTransactionId === null) return null;
      const id = randomUUID();
      commands.push({
        id,
        pendingId: lesson.holdTransactionId,
        kind: 'lesson_release',
        reference: `lesson:${lesson.id}:release`,
        metadata: { lessonId: lesson.id, orderId: lesson.orderId },
      });
      return id;
    });
    return { ids, commands };
  }

  /**
   * The ledger's part of a statement releasing `releases` (the CTEs of resolveHoldsSql: `tx`
   * returns each release's id and pending_id, the hold). `keep`, a condition on `r.pending_id`,
   * can leave holds out.
   */
  releaseSql(bind: Bind, releases: Releases, keep?: string): string {
    return resolveHoldsSql(bind, releases.commands, 'post', keep);
  }

  /** Returns the held fee to the order's escrow; returns the voiding transaction id. */
  refund(manager: EntityManager, lesson: Lesson): Promise<string | null> {
    if (lesson.holdTransactionId === null) return Promise.resolve(null);
    return this.ledger.voidPending(manager, {
      pendingId: lesson.holdTransactionId,
      kind: 'lesson_void',
      reference: `lesson:${lesson.id}:void`,
      metadata: { lessonId: lesson.id, orderId: lesson.orderId },
    });
  }
}
