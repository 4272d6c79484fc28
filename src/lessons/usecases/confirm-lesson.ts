import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import { BatchOutcome, Batcher } from '../../common/batching/batcher';
import {
  IdempotencyService,
  IdempotentRequest,
  idempotencyIdentity,
  storeResponsesSql,
} from '../../common/idempotency/idempotency.service';
import { Bind, binder } from '../../database/binder';
import { queryPrepared } from '../../database/query-prepared';
import { named, resolvedIds } from '../../ledger/ledger.service';
import { MetricsService, timed } from '../../metrics/metrics.service';
import { lessonResolutionSql } from '../lesson-ledger';
import {
  assertAwaitingConfirmation,
  lockLesson,
  parentLessonKey,
  readParentLessons,
} from '../lesson-scope';
import { LessonDto, lessonDtoSql } from '../lesson-view.dto';
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
/** An outcome that answers with a value: for a confirmation, its lesson confirmed. */
const succeeded = <T>(outcome: BatchOutcome<T> | undefined): outcome is { ok: true; value: T } =>
  outcome !== undefined && 'ok' in outcome && outcome.ok;

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

/** A lesson to confirm, and how. */
export interface Confirming {
  lessonId: string;
  confirmation: Confirmation;
  /** The parent confirming, whose order the lesson must be of (in the scope 'parent'). */
  parentId?: string;
  /** The request to answer under its Idempotency-Key, if it has one. */
  request?: IdempotentRequest;
}

/**
 * Whose lessons a confirmation statement confirms: each confirmation's parent's own (a lesson of
 * another parent's order is left as it is), or, for the system's automatic confirmation (its
 * caller holding the lesson's lock), that lesson.
 */
export type ConfirmationScope = 'parent' | 'locked';

/** A row of the confirmation statement: a lesson it confirmed. */
interface ConfirmedRow {
  /** The confirmation's place in the statement's list, from 1. */
  n: string;
  /** The answer as stored, parsed: its times are ISO strings, written as a Date would be. */
  response: LessonDto;
  hold_id: string | null;
  id: string | null;
  pending_id: string | null;
}

/**
 * The statement confirming `items` in one transaction, its values bound with `bind`: a lesson not
 * in `scope` or no longer awaiting confirmation is left as it is, and so are its key and hold; a
 * lesson named twice is confirmed once, for one of them. Returns a row per confirmed lesson (see
 * ConfirmedRow). Its parts, in order:
 * - `c`: each confirmation, with its request's key, numbered;
 * - `target`: the lessons to confirm, locked in id order (so that batches cannot deadlock);
 *   after waiting for a lock, a lesson is checked again as the other transaction left it;
 * - `confirmed`: their confirmations recorded, each with the id of its release drawn;
 * - `answered`: each confirmed lesson's answer, built in SQL (lessonDtoSql);
 * - `keys`: the answers to the keyed requests stored;
 * - the ledger's `request`, `tx` and `postings`: the confirmed lessons' holds posted, after the
 *   keys, as the institutions' accounts they lock stay locked until the commit.
 * The benchmark's pgbench script is this statement, for one confirmation.
 */
export function confirmationSql(bind: Bind, items: Confirming[], scope: ConfirmationScope): string {
  const column = <T>(value: (item: Confirming) => T) => bind(items.map(value));
  return `WITH c AS (
      SELECT * FROM unnest(${column((item) => item.lessonId)}::uuid[],
                           ${column((item) => item.parentId ?? null)}::text[],
                           ${column((item) => item.confirmation.status)}::text[],
                           ${column((item) => item.confirmation.at)}::timestamptz[],
                           ${column((item) => item.confirmation.by)}::text[],
                           ${column((item) => item.confirmation.rule ?? null)}::text[],
                           ${column((item) => item.confirmation.rating ?? null)}::smallint[],
                           ${column((item) => item.confirmation.comment ?? null)}::text[],
                           ${column((item) => item.request?.scope ?? null)}::text[],
                           ${column((item) => item.request?.key ?? null)}::text[],
                           ${column((item) => item.request?.fingerprint ?? null)}::text[],
                           ${column((item) => item.request?.statusCode ?? null)}::int[])
        WITH ORDINALITY AS c(id, parent_id, status, confirmed_at, confirmed_by, rule, rating,
                             comment, key_scope, key, fingerprint, status_code, n)),
    target AS (
      SELECT l.id, c.n FROM lessons l JOIN c ON c.id = l.id
      ${scope === 'parent' ? 'JOIN orders o ON o.id = l.order_id AND o.parent_id = c.parent_id' : ''}
      WHERE l.status = 'awaiting_confirmation'
      ORDER BY l.id FOR UPDATE OF l),
    confirmed AS (
      UPDATE lessons l
      SET status = c.status, confirmed_at = c.confirmed_at, confirmed_by = c.confirmed_by,
          confirmation_rule = c.rule, rating = c.rating, comment = c.comment,
          settle_transaction_id =
            CASE WHEN l.hold_transaction_id IS NOT NULL THEN gen_random_uuid() END
      FROM target JOIN c ON c.n = target.n
      WHERE l.id = target.id AND l.status = 'awaiting_confirmation'
      RETURNING l.*, c.n, c.key_scope, c.key, c.fingerprint, c.status_code),
    answered AS (
      SELECT l.n, l.id, l.order_id, l.hold_transaction_id, l.settle_transaction_id,
             l.key_scope AS scope, l.key, l.fingerprint, l.status_code,
             row_to_json(d) AS response
      FROM confirmed l CROSS JOIN LATERAL (SELECT ${lessonDtoSql('l')}) d),
    keys AS (${storeResponsesSql('answered WHERE key IS NOT NULL')}),
    ${lessonResolutionSql(
      bind,
      'post',
      'answered',
      // The sub-statements of one statement run in no set order: reading `keys` here puts the
      // ledger (and the accounts it locks until the commit) after them.
      '(SELECT count(*) FROM keys) >= 0',
    )}
    SELECT answered.n, answered.response, answered.hold_transaction_id AS hold_id,
           tx.id, tx.pending_id
    FROM answered LEFT JOIN tx ON tx.pending_id = answered.hold_transaction_id`;
}

/**
 * A parent confirms a delivered lesson of their own order: its fee is released to the
 * institution. A rating is recorded alongside and never holds the release back (R-APP-01).
 *
 * Concurrent confirmations are grouped (DESIGN.md §7 sizes this path). One statement, its own
 * database transaction, confirms a batch: it locks the lessons that are the parents' and await
 * confirmation, records the confirmations, stores the answers to their Idempotency-Keys and
 * releases their holds; every answer waits for its commit. No transaction stays open while this
 * process works, so the institutions' accounts the ledger locks are locked only while that
 * statement runs. A lesson the statement did not confirm (not found, another parent's, already
 * confirmed, disputed) is read afterwards to answer with its reason, on its own, while the others
 * go on. When the batch's statement fails as a whole (the database, a key stored meanwhile
 * elsewhere), or the read after it does, the confirmations it has not answered run again one per
 * transaction, under the lesson's lock, which gives each its own answer; those it confirmed keep
 * their answers.
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
    private readonly metrics: MetricsService,
  ) {}

  /** A parent's confirmation (the only role the route admits), answered after its batch commits. */
  execute(command: ConfirmLessonCommand): Promise<LessonDto> {
    return this.batcher.submit(command);
  }

  /**
   * The one way a lesson becomes confirmed one at a time, by its parent or automatically: records
   * the confirmation and posts the held fee. The caller holds the row lock and has checked that
   * the lesson awaits confirmation; a parent's confirmation names the parent (`parentId`), and
   * the statement confirms only a lesson of that parent's order.
   */
  async confirmLocked(
    manager: EntityManager,
    lesson: Lesson,
    confirmation: Confirmation,
    parentId?: string,
  ): Promise<LessonDto> {
    const [response] = await this.writeConfirmations(
      manager,
      [{ lessonId: lesson.id, confirmation, parentId }],
      parentId === undefined ? 'locked' : 'parent',
    );
    if (!response) {
      throw new Error(`lesson ${lesson.id} was locked awaiting confirmation but not confirmed`);
    }
    return response;
  }

  /**
   * Confirms lessons in one statement (confirmationSql); returns the answer to each confirmation,
   * in their order (the lesson as confirmed, which is also what a keyed request stores), or
   * undefined for one it did not confirm.
   */
  private async writeConfirmations(
    manager: EntityManager,
    items: Confirming[],
    scope: ConfirmationScope,
  ): Promise<(LessonDto | undefined)[]> {
    if (items.length === 0) return [];
    const params: unknown[] = [];
    const text = confirmationSql(binder(params), items, scope);
    const rows: ConfirmedRow[] = await named(
      queryPrepared(manager, `lessons.confirm.${scope}`, text, params),
    );
    // Every confirmed lesson's hold must have been pending. (In a batch's own transaction, its
    // commit has already failed on the lesson's reference to the release, checked at commit.)
    resolvedIds(
      rows.flatMap((row) => (row.hold_id === null ? [] : [{ pendingId: row.hold_id }])),
      rows,
    );
    const answers = new Array<LessonDto | undefined>(items.length);
    for (const row of rows) answers[Number(row.n) - 1] = row.response;
    return answers;
  }

  /** One confirmation in its own transaction, under its lesson's lock. */
  private confirmOne(command: ConfirmLessonCommand): Promise<LessonDto> {
    return this.idempotency.execute(command.idempotency, async (manager) => {
      const lesson = await lockLesson(manager, command.lessonId, command.principal);
      assertAwaitingConfirmation(lesson);
      return this.confirmLocked(
        manager,
        lesson,
        this.confirmationOf(command, new Date()),
        command.principal.sub,
      );
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
    // A key, or a lesson (its id canonical, as the route passes it), twice in one batch: the
    // later request runs again after this batch, and so finds the earlier one's stored response
    // (or its error, if it stored none), or its lesson as this batch left it.
    const keys = new Set<string>();
    const lessons = new Set<string>();
    const candidates: number[] = [];
    commands.forEach((command, index) => {
      const identity = command.idempotency && idempotencyIdentity(command.idempotency);
      if ((identity !== undefined && keys.has(identity)) || lessons.has(command.lessonId)) {
        outcomes[index] = { retry: true };
        return;
      }
      if (identity !== undefined) keys.add(identity);
      lessons.add(command.lessonId);
      candidates.push(index);
    });
    let again: number[];
    try {
      again = await this.confirmCandidates(commands, candidates, outcomes);
    } catch {
      this.metrics.confirmationBatchFallbacks.inc();
      // Those the statement confirmed have committed and keep their answers.
      again = candidates.filter((index) => !succeeded(outcomes[index]));
    }
    // One at a time, not all at once: a failing batch must not also take the connection pool.
    // (Were the commit itself to be lost after it happened, a keyed request gets its stored
    // response back here, and one without a key is told its lesson is already confirmed.)
    for (const index of again) outcomes[index] = await settled(this.confirmOne(commands[index]));
    return outcomes;
  }

  /**
   * The batch's statement, then the reasons of those it did not confirm: fills in the outcome of
   * each candidate it answers and returns the others (to run again one at a time).
   */
  private async confirmCandidates(
    commands: ConfirmLessonCommand[],
    candidates: number[],
    outcomes: BatchOutcome<LessonDto>[],
  ): Promise<number[]> {
    const manager = this.dataSource.manager;
    const at = new Date();
    const answers = await timed(this.metrics.confirmationWrite, () =>
      this.writeConfirmations(
        manager,
        candidates.map((index) => ({
          lessonId: commands[index].lessonId,
          parentId: commands[index].principal.sub,
          confirmation: this.confirmationOf(commands[index], at),
          request: commands[index].idempotency,
        })),
        'parent',
      ),
    );
    const refused: number[] = [];
    candidates.forEach((index, position) => {
      const answer = answers[position];
      if (answer) outcomes[index] = { ok: true, value: answer };
      else refused.push(index);
    });
    this.metrics.confirmationBatchSize.observe(candidates.length - refused.length);
    return this.refuse(commands, refused, outcomes);
  }

  /**
   * Answers the confirmations a batch's statement did not confirm, each with its reason, as their
   * lessons are now: not found (or another parent's), or no longer awaiting confirmation. A keyed
   * request whose key is stored (a retry, or the same request sent twice and done meanwhile) gets
   * the stored response instead. Returns those whose lesson awaits confirmation after all (to run
   * again one at a time).
   */
  private async refuse(
    commands: ConfirmLessonCommand[],
    refused: number[],
    outcomes: BatchOutcome<LessonDto>[],
  ): Promise<number[]> {
    if (refused.length === 0) return [];
    const manager = this.dataSource.manager;
    const read = await timed(this.metrics.confirmationRead, () =>
      readParentLessons(
        manager,
        refused.map((index) => ({
          lessonId: commands[index].lessonId,
          parentId: commands[index].principal.sub,
        })),
      ),
    );
    const again: number[] = [];
    const keyed: { index: number; request: IdempotentRequest }[] = [];
    for (const index of refused) {
      const command = commands[index];
      const lesson = read.get(parentLessonKey(command.lessonId, command.principal.sub));
      const reason = settledSync(() => {
        if (!lesson) {
          throw lessonError(LessonErrorCode.LESSON_NOT_FOUND, `no lesson ${command.lessonId}`);
        }
        assertAwaitingConfirmation(lesson);
      });
      // Awaiting confirmation after all: run again on its own.
      if (succeeded(reason)) {
        again.push(index);
        continue;
      }
      outcomes[index] = reason;
      if (command.idempotency) keyed.push({ index, request: command.idempotency });
    }
    const stored = await this.idempotency.findStored(
      manager,
      keyed.map(({ request }) => request),
    );
    for (const { index, request } of keyed) {
      const previous = stored.get(idempotencyIdentity(request));
      if (previous) {
        outcomes[index] = settledSync(() => this.idempotency.replay<LessonDto>(request, previous));
      }
    }
    if (again.length) this.metrics.confirmationConflicts.inc(again.length);
    return again;
  }
}
