import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import { BatchOutcome, Batcher } from '../../common/batching/batcher';
import { domainErrorFromDatabase } from '../../common/errors/database-errors';
import {
  IdempotencyService,
  IdempotentRequest,
  StoredEntry,
  idempotencyIdentity,
  storeResponsesSql,
} from '../../common/idempotency/idempotency.service';
import { binder } from '../../database/binder';
import { queryPrepared } from '../../database/query-prepared';
import { resolvedIds } from '../../ledger/ledger.service';
import { MetricsService, timed } from '../../metrics/metrics.service';
import { LessonLedger } from '../lesson-ledger';
import {
  assertAwaitingConfirmation,
  lockLesson,
  parentLessonKey,
  readParentLessons,
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

/**
 * Parents' confirmations arriving together are written by one statement: a batch goes out as soon
 * as one of these is free, so a lone confirmation waits for nothing. Two at once, not more: their
 * statements lock the same institutions' accounts, so a third mostly waits, and smaller batches
 * cost more per confirmation (measured with `npm run bench`).
 */
export const CONFIRMATION_BATCHING = { maxSize: 64, maxInFlight: 2 };

const failed = (error: unknown): BatchOutcome<never> => ({ ok: false, error });

async function settled<T>(work: Promise<T>): Promise<BatchOutcome<T>> {
  try {
    return { ok: true, value: await work };
  } catch (error) {
    return failed(error);
  }
}

function settledSync<T>(work: () => T): BatchOutcome<T> {
  try {
    return { ok: true, value: work() };
  } catch (error) {
    return failed(error);
  }
}

/**
 * A lesson the confirmation statement may confirm (`l`, with its confirmation `c`): still awaiting
 * confirmation and, unless the caller holds its lock (no row version), still the row it was read
 * as. Checked where the statement locks the row and again where it updates it.
 */
const STILL_AS_READ = `l.status = 'awaiting_confirmation'
  AND (c.row_version IS NULL OR l.xmin = c.row_version)`;

/** A lesson to confirm, and how. */
interface Confirming {
  lesson: Lesson;
  confirmation: Confirmation;
  /** The version of the row the lesson was read as; null when the caller holds its lock. */
  rowVersion: string | null;
  /** The request to answer under its Idempotency-Key, if it has one. */
  request?: IdempotentRequest;
}

/**
 * A parent confirms a delivered lesson of their own order: its fee is released to the
 * institution. A rating is recorded alongside and never holds the release back (R-APP-01).
 *
 * Concurrent confirmations are grouped (DESIGN.md §7 sizes this path). A batch reads its lessons
 * (each only if it is that parent's) and checks each on its own, so that one refused (not found,
 * already confirmed, disputed) gets its own error and the others go on. Then one statement, its
 * own database transaction, confirms the others: it records the confirmations, stores their
 * Idempotency-Keys and releases their holds, each only for a lesson whose row is still the one
 * read, and every answer waits for its commit. No transaction stays open while this process
 * works, so the institutions' accounts the ledger locks are locked only while that statement
 * runs. A lesson changed since it was read, and a batch whose statement fails as a whole (the
 * database, a key stored meanwhile elsewhere), run again one confirmation per transaction, under
 * the lesson's lock, which gives each its own answer.
 */
@Injectable()
export class ConfirmLesson {
  private readonly batcher = new Batcher<ConfirmLessonCommand, LessonDto>(
    (commands) => this.confirmBatch(commands),
    {
      ...CONFIRMATION_BATCHING,
      observeWait: (seconds) => this.metrics.confirmationWait.observe(seconds),
    },
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
   * The one way a lesson becomes confirmed one at a time, by its parent or automatically: records
   * the confirmation and posts the held fee. The caller holds the row lock and has checked that
   * the lesson awaits confirmation.
   */
  async confirmLocked(
    manager: EntityManager,
    lesson: Lesson,
    confirmation: Confirmation,
  ): Promise<LessonDto> {
    const confirmed = await this.writeConfirmations(manager, [
      { lesson, confirmation, rowVersion: null },
    ]);
    const response = confirmed.get(lesson.id);
    if (!response) {
      throw new Error(`lesson ${lesson.id} was locked awaiting confirmation but not confirmed`);
    }
    return response;
  }

  /**
   * Confirms lessons in one statement; returns the answers of those it confirmed, by lesson id
   * (each lesson as confirmed, which is also what a keyed request stores). Only a lesson still
   * awaiting confirmation is confirmed, and, when its row version is given, only if its row is
   * still that version; the others are left as they are, and so are their keys and holds. The
   * statement's parts, in order:
   * - `c`: each lesson's confirmation, row version and stored response (its place in `keys`);
   * - `target`: the lessons to confirm, locked in id order (so that batches cannot deadlock);
   * - `confirmed`: their confirmations recorded, with the ids of their releases;
   * - `keys`: the responses to the keyed requests of the confirmed lessons stored;
   * - the ledger's `request`, `tx` and `postings`: the confirmed lessons' holds posted, after the
   *   keys, as the institutions' accounts they lock stay locked until the commit.
   * Each lesson is updated in place with its confirmation.
   */
  private async writeConfirmations(
    manager: EntityManager,
    items: Confirming[],
  ): Promise<Map<string, LessonDto>> {
    if (items.length === 0) return new Map();
    const lessons = items.map((item) => item.lesson);
    const releases = this.lessonLedger.releasesOf(lessons);
    const responses: LessonDto[] = [];
    const entries: StoredEntry[] = [];
    const storedAt = items.map(({ lesson, confirmation, request }, index) => {
      Object.assign(lesson, {
        status: confirmation.status,
        confirmedAt: confirmation.at,
        confirmedBy: confirmation.by,
        confirmationRule: confirmation.rule ?? null,
        rating: confirmation.rating ?? null,
        comment: confirmation.comment ?? null,
        settleTransactionId: releases.ids[index],
      });
      responses.push(toLessonDto(lesson));
      if (!request) return null;
      entries.push({ request, response: responses[index] });
      return entries.length;
    });
    const params: unknown[] = [];
    const bind = binder(params);
    const text = `WITH c AS (
        SELECT * FROM unnest(${bind(lessons.map((lesson) => lesson.id))}::uuid[],
                             ${bind(items.map((item) => item.rowVersion))}::xid[],
                             ${bind(lessons.map((lesson) => lesson.status))}::text[],
                             ${bind(lessons.map((lesson) => lesson.confirmedAt))}::timestamptz[],
                             ${bind(lessons.map((lesson) => lesson.confirmedBy))}::text[],
                             ${bind(lessons.map((lesson) => lesson.confirmationRule))}::text[],
                             ${bind(lessons.map((lesson) => lesson.rating))}::smallint[],
                             ${bind(lessons.map((lesson) => lesson.comment))}::text[],
                             ${bind(lessons.map((lesson) => lesson.settleTransactionId))}::uuid[],
                             ${bind(storedAt)}::int[])
          AS c(id, row_version, status, confirmed_at, confirmed_by, rule, rating, comment,
               settle_transaction_id, stored_at)),
      target AS (
        SELECT l.id FROM lessons l JOIN c ON c.id = l.id
        WHERE ${STILL_AS_READ}
        ORDER BY l.id FOR UPDATE OF l),
      confirmed AS (
        UPDATE lessons l
        SET status = c.status, confirmed_at = c.confirmed_at, confirmed_by = c.confirmed_by,
            confirmation_rule = c.rule, rating = c.rating, comment = c.comment,
            settle_transaction_id = c.settle_transaction_id
        FROM c JOIN target ON target.id = c.id
        WHERE l.id = c.id AND ${STILL_AS_READ}
        RETURNING l.id, l.hold_transaction_id, c.stored_at),
      keys AS (${storeResponsesSql(bind, entries, 's.n IN (SELECT stored_at FROM confirmed)')}),
      ${this.lessonLedger.releaseSql(
        bind,
        releases,
        // The holds of the confirmed lessons, once their keys are stored: the sub-statements of
        // one statement run in no set order, and reading `keys` here puts the ledger (and the
        // accounts it locks until the commit) after them.
        `r.pending_id IN (SELECT hold_transaction_id FROM confirmed)
         AND (SELECT count(*) FROM keys) >= 0`,
      )}
      SELECT confirmed.id AS lesson_id, confirmed.hold_transaction_id AS hold_id, tx.id, tx.pending_id
      FROM confirmed LEFT JOIN tx ON tx.pending_id = confirmed.hold_transaction_id`;
    let rows: {
      lesson_id: string;
      hold_id: string | null;
      id: string | null;
      pending_id: string | null;
    }[];
    try {
      rows = await queryPrepared(manager, 'lessons.confirm', text, params);
    } catch (error) {
      throw domainErrorFromDatabase(error) ?? error;
    }
    // Every confirmed lesson's hold must have been pending. (In a batch's own transaction, its
    // commit has already failed on the lesson's reference to the release, checked at commit.)
    const held = new Set(rows.map((row) => row.hold_id));
    resolvedIds(
      releases.commands.filter((command) => held.has(command.pendingId)),
      rows,
    );
    const confirmed = new Set(rows.map((row) => row.lesson_id));
    return new Map(
      lessons.flatMap((lesson, index) =>
        confirmed.has(lesson.id) ? [[lesson.id, responses[index]]] : [],
      ),
    );
  }

  /** One confirmation in its own transaction, under its lesson's lock. */
  private confirmOne(command: ConfirmLessonCommand): Promise<LessonDto> {
    return this.idempotency.execute(command.idempotency, async (manager) => {
      const lesson = await lockLesson(manager, command.lessonId, command.principal);
      assertAwaitingConfirmation(lesson);
      return this.confirmLocked(manager, lesson, this.confirmationOf(command, new Date()));
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
    let again: number[];
    try {
      again = await this.confirmCandidates(commands, candidates, outcomes);
    } catch {
      this.metrics.confirmationBatchFallbacks.inc();
      again = candidates;
    }
    // One at a time, not all at once: a failing batch must not also take the connection pool.
    // (Were the commit itself to be lost after it happened, a keyed request gets its stored
    // response back here, and one without a key is told its lesson is already confirmed.)
    for (const index of again) outcomes[index] = await settled(this.confirmOne(commands[index]));
    return outcomes;
  }

  /**
   * The batch's read, checks and statement: fills in the outcome of each candidate it answers and
   * returns the others (their lessons changed since they were read).
   */
  private async confirmCandidates(
    commands: ConfirmLessonCommand[],
    candidates: number[],
    outcomes: BatchOutcome<LessonDto>[],
  ): Promise<number[]> {
    const manager = this.dataSource.manager;
    const read = await timed(this.metrics.confirmationRead, () =>
      readParentLessons(
        manager,
        candidates.map((index) => ({
          lessonId: commands[index].lessonId,
          parentId: commands[index].principal.sub,
        })),
      ),
    );
    const at = new Date();
    const confirming: (Confirming & { index: number })[] = [];
    // A lesson asked for again in this batch: answered after it, from what this batch did.
    const asked = new Set<string>();
    // Keyed requests refused below: a retry finds its lesson confirmed, and so its stored
    // response; keys are looked up only for these, not on every batch.
    const refused: { index: number; request: IdempotentRequest }[] = [];
    for (const index of candidates) {
      const command = commands[index];
      const found = read.get(parentLessonKey(command.lessonId, command.principal.sub));
      if (found && asked.has(found.lesson.id)) {
        outcomes[index] = { retry: true };
        continue;
      }
      if (found) asked.add(found.lesson.id);
      try {
        if (!found) {
          throw lessonError(LessonErrorCode.LESSON_NOT_FOUND, `no lesson ${command.lessonId}`);
        }
        assertAwaitingConfirmation(found.lesson);
      } catch (error) {
        outcomes[index] = failed(error);
        if (command.idempotency) refused.push({ index, request: command.idempotency });
        continue;
      }
      const confirmation = this.confirmationOf(command, at);
      confirming.push({
        index,
        lesson: found.lesson,
        confirmation,
        rowVersion: found.rowVersion,
        request: command.idempotency,
      });
    }
    // A refused request whose key is stored (a retry, or the same request sent twice and done
    // meanwhile) gets the stored response.
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

    const confirmed = confirming.length
      ? await timed(this.metrics.confirmationWrite, () =>
          this.writeConfirmations(manager, confirming),
        )
      : new Map<string, LessonDto>();
    const again: number[] = [];
    for (const { index, lesson } of confirming) {
      const response = confirmed.get(lesson.id);
      if (response) outcomes[index] = { ok: true, value: response };
      else again.push(index);
    }
    this.metrics.confirmationBatchSize.observe(confirmed.size);
    if (again.length) this.metrics.confirmationConflicts.inc(again.length);
    return again;
  }
}
