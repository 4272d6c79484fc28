import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import { BatchOutcome, Batcher } from '../../common/batching/batcher';
import {
  IdempotencyService,
  IdempotentRequest,
  idempotencyIdentity,
} from '../../common/idempotency/idempotency.service';
import { queryPrepared } from '../../database/query-prepared';
import { MetricsService } from '../../metrics/metrics.service';
import { LessonLedger } from '../lesson-ledger';
import {
  assertAwaitingConfirmation,
  lockLesson,
  lockParentLessons,
  parentLessonKey,
} from '../lesson-scope';
import { LessonDto, toLessonDto } from '../lesson-view.dto';
import { Lesson } from '../lesson.entity';
import { LessonErrorCode, lessonError } from '../lessons.errors';

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

/** Records confirmations on locked rows; prepared, as it runs for every confirmation. */
const RECORD_CONFIRMATIONS = `UPDATE lessons l
  SET status = c.status, confirmed_at = c.confirmed_at, confirmed_by = c.confirmed_by,
      confirmation_rule = c.rule, rating = c.rating, comment = c.comment,
      settle_transaction_id = c.settle_transaction_id
  FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::smallint[],
              $7::text[], $8::uuid[])
    AS c(id, status, confirmed_at, confirmed_by, rule, rating, comment, settle_transaction_id)
  WHERE l.id = c.id`;

/**
 * Parents' confirmations arriving together share one database transaction: a batch goes out as
 * soon as one of these is free, so a lone confirmation waits for nothing.
 */
const BATCHING = { maxSize: 64, maxInFlight: 3 };

const failed = (error: unknown): BatchOutcome<never> => ({ ok: false, error });

async function settled<T>(work: Promise<T>): Promise<BatchOutcome<T>> {
  try {
    return { ok: true, value: await work };
  } catch (error) {
    return failed(error);
  }
}

/**
 * A parent confirms a delivered lesson of their own order: its fee is released to the
 * institution. A rating is recorded alongside and never holds the release back (R-APP-01).
 *
 * Concurrent confirmations are grouped (DESIGN.md §7 sizes this path): one transaction locks the
 * batch's lessons, records the confirmations, stores their Idempotency-Keys and posts their holds
 * (the ledger last), and every answer waits for its commit. Each confirmation is checked on its own locked row, so one that is
 * refused (not found, already confirmed, disputed) gets its own error and the others go on; a
 * batch that fails as a whole (the database, a key stored meanwhile elsewhere) is run again one
 * confirmation per transaction, which gives each its own answer.
 */
@Injectable()
export class ConfirmLesson {
  private readonly batcher = new Batcher<ConfirmLessonCommand, LessonDto>(
    (commands) => this.confirmBatch(commands),
    BATCHING,
  );

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly idempotency: IdempotencyService,
    private readonly lessonLedger: LessonLedger,
    private readonly metrics: MetricsService,
  ) {}

  /** A parent's confirmation (the only role the route admits), answered after its batch commits. */
  execute(command: ConfirmLessonCommand): Promise<LessonDto> {
    return this.batcher.submit(command);
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
  ): Promise<void> {
    await this.confirmLockedMany(manager, [{ lesson, confirmation }]);
  }

  /**
   * confirmLocked for many lessons (distinct, locked, awaiting confirmation) at once. The ledger
   * is written last, after `beforeRelease`: the institutions' accounts it locks stay locked until
   * the commit, and concurrent batches wait for them, so as little as possible comes after it.
   */
  private async confirmLockedMany(
    manager: EntityManager,
    items: { lesson: Lesson; confirmation: Confirmation }[],
    beforeRelease?: () => Promise<void>,
  ): Promise<void> {
    if (items.length === 0) return;
    const release = this.lessonLedger.releaseOf(items.map((item) => item.lesson));
    const changes = items.map(({ confirmation }, index) => ({
      status: confirmation.status,
      confirmedAt: confirmation.at,
      confirmedBy: confirmation.by,
      confirmationRule: confirmation.rule ?? null,
      rating: confirmation.rating ?? null,
      comment: confirmation.comment ?? null,
      settleTransactionId: release.ids[index],
    }));
    await queryPrepared(manager, 'lessons.record-confirmations', RECORD_CONFIRMATIONS, [
      items.map((item) => item.lesson.id),
      changes.map((change) => change.status),
      changes.map((change) => change.confirmedAt),
      changes.map((change) => change.confirmedBy),
      changes.map((change) => change.confirmationRule),
      changes.map((change) => change.rating),
      changes.map((change) => change.comment),
      changes.map((change) => change.settleTransactionId),
    ]);
    items.forEach((item, index) => Object.assign(item.lesson, changes[index]));
    await beforeRelease?.();
    await release.post(manager);
  }

  /** One confirmation in its own transaction. */
  private confirmOne(command: ConfirmLessonCommand): Promise<LessonDto> {
    return this.idempotency.execute(command.idempotency, async (manager) => {
      const lesson = await lockLesson(manager, command.lessonId, command.principal);
      assertAwaitingConfirmation(lesson);
      await this.confirmLocked(manager, lesson, this.confirmationOf(command, new Date()));
      return toLessonDto(lesson);
    });
  }

  private confirmationOf(command: ConfirmLessonCommand, at: Date): Confirmation {
    return {
      status: 'confirmed',
      by: command.principal.sub,
      at,
      rating: command.rating,
      comment: command.comment,
    };
  }

  private async confirmBatch(commands: ConfirmLessonCommand[]): Promise<BatchOutcome<LessonDto>[]> {
    const outcomes = new Array<BatchOutcome<LessonDto>>(commands.length);
    // A key twice in one batch: the later request runs again after this batch, and so finds
    // the earlier one's stored response (or its error, if it stored none).
    const keys = new Set<string>();
    const candidates: number[] = [];
    commands.forEach((command, index) => {
      if (command.idempotency) {
        const identity = idempotencyIdentity(command.idempotency);
        if (keys.has(identity)) {
          outcomes[index] = { retry: true };
          return;
        }
        keys.add(identity);
      }
      candidates.push(index);
    });
    let confirmed: number;
    try {
      confirmed = await this.dataSource.transaction((manager) =>
        this.confirmCandidates(manager, commands, candidates, outcomes),
      );
    } catch {
      // One at a time, not all at once: a failing batch must not also take the connection pool.
      // (Were the commit itself to be lost after it happened, a keyed request gets its stored
      // response back here, and one without a key is told its lesson is already confirmed.)
      this.metrics.confirmationBatchFallbacks.inc();
      for (const [index, command] of commands.entries()) {
        const outcome = outcomes[index];
        if (!(outcome && 'retry' in outcome))
          outcomes[index] = await settled(this.confirmOne(command));
      }
      return outcomes;
    }
    this.metrics.confirmationBatchSize.observe(confirmed);
    return outcomes;
  }

  /**
   * The batch's work inside its transaction; fills in the outcome of each candidate and returns
   * how many lessons it confirmed.
   */
  private async confirmCandidates(
    manager: EntityManager,
    commands: ConfirmLessonCommand[],
    candidates: number[],
    outcomes: BatchOutcome<LessonDto>[],
  ): Promise<number> {
    const locked = await lockParentLessons(
      manager,
      candidates.map((index) => ({
        lessonId: commands[index].lessonId,
        parentId: commands[index].principal.sub,
      })),
    );
    const at = new Date();
    const confirming: { index: number; lesson: Lesson; confirmation: Confirmation }[] = [];
    // Keyed requests refused below: a retry finds its lesson confirmed, and so its stored
    // response; keys are looked up only for these, not on every batch.
    const refused: { index: number; request: IdempotentRequest }[] = [];
    for (const index of candidates) {
      const command = commands[index];
      const lesson = locked.get(parentLessonKey(command.lessonId, command.principal.sub));
      try {
        if (!lesson) {
          throw lessonError(LessonErrorCode.LESSON_NOT_FOUND, `no lesson ${command.lessonId}`);
        }
        assertAwaitingConfirmation(lesson);
      } catch (error) {
        outcomes[index] = failed(error);
        if (command.idempotency) refused.push({ index, request: command.idempotency });
        continue;
      }
      const confirmation = this.confirmationOf(command, at);
      confirming.push({ index, lesson, confirmation });
      // The same lesson again later in this batch finds it confirmed.
      lesson.status = confirmation.status;
    }
    // A refused request whose key is stored (a retry, or the same request sent twice and done by
    // another transaction while this one waited for the lock) gets the stored response.
    const stored = await this.idempotency.findStored(
      manager,
      refused.map(({ request }) => request),
    );
    for (const { index, request } of refused) {
      const previous = stored.get(idempotencyIdentity(request));
      if (previous) {
        outcomes[index] = settledSync(() => this.idempotency.replay<LessonDto>(request, previous));
      }
    }

    const responses: LessonDto[] = [];
    await this.confirmLockedMany(manager, confirming, async () => {
      responses.push(...confirming.map(({ lesson }) => toLessonDto(lesson)));
      await this.idempotency.store(
        manager,
        confirming.flatMap(({ index }, position) => {
          const request = commands[index].idempotency;
          return request ? [{ request, response: responses[position] }] : [];
        }),
      );
    });
    confirming.forEach(({ index }, position) => {
      outcomes[index] = { ok: true, value: responses[position] };
    });
    return confirming.length;
  }
}

function settledSync<T>(work: () => T): BatchOutcome<T> {
  try {
    return { ok: true, value: work() };
  } catch (error) {
    return failed(error);
  }
}
