import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import {
  IdempotencyService,
  IdempotentRequest,
} from '../../common/idempotency/idempotency.service';
import { LessonLedger } from '../lesson-ledger';
import { assertAwaitingConfirmation, lockLesson, queryPrepared } from '../lesson-scope';
import { LessonDto, toLessonDto } from '../lesson-view.dto';
import { Lesson } from '../lesson.entity';

export interface ConfirmLessonCommand {
  principal: Principal;
  idempotency?: IdempotentRequest;
  lessonId: string;
  rating?: number;
  comment?: string;
}

/** Who confirmed a lesson, and how. */
export interface Confirmation {
  status: 'confirmed' | 'auto_confirmed';
  by: string;
  at: Date;
  /** The district rule, for an auto-confirmation. */
  rule?: string;
  rating?: number;
  comment?: string;
}

/** Records the confirmation on the locked row; prepared, as it runs for every confirmation. */
const RECORD_CONFIRMATION = `UPDATE lessons
  SET status = $2, confirmed_at = $3, confirmed_by = $4, confirmation_rule = $5, rating = $6,
      comment = $7, settle_transaction_id = $8
  WHERE id = $1`;

/**
 * A parent confirms a delivered lesson of their own order: its fee is released to the
 * institution. A rating is recorded alongside and never holds the release back (R-APP-01).
 */
@Injectable()
export class ConfirmLesson {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly lessonLedger: LessonLedger,
  ) {}

  execute(command: ConfirmLessonCommand): Promise<LessonDto> {
    return this.idempotency.execute(command.idempotency, async (manager) => {
      const lesson = await lockLesson(manager, command.lessonId, command.principal);
      assertAwaitingConfirmation(lesson);
      const confirmed = await this.confirmLocked(manager, lesson, {
        status: 'confirmed',
        by: command.principal.sub,
        at: new Date(),
        rating: command.rating,
        comment: command.comment,
      });
      return toLessonDto(confirmed);
    });
  }

  /**
   * The one way a lesson becomes confirmed, by its parent or automatically: posts the held fee
   * and records the confirmation. The caller holds the row lock and has checked that the lesson
   * awaits confirmation.
   */
  async confirmLocked(
    manager: EntityManager,
    lesson: Lesson,
    confirmation: Confirmation,
  ): Promise<Lesson> {
    const settleTransactionId = await this.lessonLedger.release(manager, lesson);
    const changes = {
      status: confirmation.status,
      confirmedAt: confirmation.at,
      confirmedBy: confirmation.by,
      confirmationRule: confirmation.rule ?? null,
      rating: confirmation.rating ?? null,
      comment: confirmation.comment ?? null,
      settleTransactionId,
    };
    await queryPrepared(manager, 'lessons.record-confirmation', RECORD_CONFIRMATION, [
      lesson.id,
      changes.status,
      changes.confirmedAt,
      changes.confirmedBy,
      changes.confirmationRule,
      changes.rating,
      changes.comment,
      changes.settleTransactionId,
    ]);
    return Object.assign(lesson, changes);
  }
}
