/**
 * A lesson is released once, whatever is retried or raced (DESIGN.md rule 7): concurrent
 * confirmations, concurrent retries of one confirmation, a confirmation racing a dispute, and
 * lessons of one order recorded at once.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource, QueryRunner } from 'typeorm';
import type { Principal } from '../../src/auth/principal';
import { CONFIRMATION_BATCHING, ConfirmLesson } from '../../src/lessons/usecases/confirm-lesson';
import { MetricsService } from '../../src/metrics/metrics.service';
import { tokens } from '../support/factories';
import { eventually } from '../support/waiting';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';
import {
  PaidOrder,
  booksOf,
  ledgerKindsOf,
  lessonCommand,
  lessonRow,
  minutesAgo,
  paidOrder,
  recordLesson,
} from './support';

const RACERS = 20;

/** ConfirmLesson's private work of a batch, for the tests that fail or race it. */
interface BatchWork {
  confirmCandidates: (...args: unknown[]) => Promise<void>;
  refuse: (...args: unknown[]) => Promise<number[]>;
  writeConfirmations: (...args: unknown[]) => Promise<unknown[]>;
}

describe('lessons: concurrency', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;

  beforeAll(async () => {
    t = await createLedgerTestApp();
    ({ dataSource, as } = t);
  });

  afterAll(() => closeWithBooksBalanced(t));

  async function recordedLesson(paid: PaidOrder, minutes = 60): Promise<string> {
    const response = await recordLesson(t, as.institution(paid.fixture.institution), {
      orderId: paid.order.id,
      deliveredAt: minutesAgo(minutes),
    }).expect(201);
    return response.body.id as string;
  }

  it('releases once when twenty confirmations race; the others are told it is confirmed', async () => {
    const paid = await paidOrder(dataSource);
    const lessonId = await recordedLesson(paid);
    const responses = await Promise.all(
      Array.from({ length: RACERS }, (_, i) =>
        lessonCommand(t, as.parent(paid.order.parentId), `/v1/lessons/${lessonId}/confirm`, {
          rating: (i % 5) + 1,
        }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array<number>(RACERS - 1).fill(409)]);
    for (const refused of responses.filter((r) => r.status === 409)) {
      expect(refused.body.code).toBe('LESSON_ALREADY_CONFIRMED');
    }
    expect(await ledgerKindsOf(t, lessonId)).toEqual({ lesson_hold: 1, lesson_release: 1 });
    expect(await booksOf(t, paid)).toMatchObject({
      escrow: {
        postedFen: paid.order.amountFen - paid.order.lessonPriceFen,
        pendingDebitsFen: 0,
      },
      payable: { postedFen: paid.order.lessonPriceFen, pendingCreditsFen: 0 },
    });
    const winner = responses.find((r) => r.status === 200)!;
    expect((await lessonRow(t, lessonId))?.rating).toBe(winner.body.rating);
  });

  it('answers twenty concurrent retries of one confirmation alike, releasing once', async () => {
    const paid = await paidOrder(dataSource);
    const lessonId = await recordedLesson(paid);
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: RACERS }, () =>
        lessonCommand(
          t,
          as.parent(paid.order.parentId),
          `/v1/lessons/${lessonId}/confirm`,
          { rating: 5, comment: 'Great.' },
          key,
        ),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(RACERS).fill(200));
    // Equal as JSON values; the replayed copies come back from jsonb, which orders keys its way.
    for (const response of responses) expect(response.body).toEqual(responses[0].body);
    expect(responses[0].body).toMatchObject({
      id: lessonId,
      status: 'confirmed',
      feeFen: paid.order.lessonPriceFen,
      rating: 5,
      comment: 'Great.',
    });
    expect(await ledgerKindsOf(t, lessonId)).toEqual({ lesson_hold: 1, lesson_release: 1 });
    expect((await booksOf(t, paid)).payable.postedFen).toBe(paid.order.lessonPriceFen);
  });

  it('answers each confirmation of a burst on its own', async () => {
    const orders = await Promise.all([0, 1, 2].map(() => paidOrder(dataSource)));
    const lessons: { paid: PaidOrder; id: string }[] = [];
    for (const paid of orders) {
      for (let i = 0; i < 4; i += 1) lessons.push({ paid, id: await recordedLesson(paid, 60 + i) });
    }
    const parentOf = (paid: PaidOrder) => as.parent(paid.order.parentId);
    const keys = lessons.map(() => randomUUID());
    const confirm = (token: string, lessonId: string, key?: string) =>
      lessonCommand(t, token, `/v1/lessons/${lessonId}/confirm`, { rating: 4 }, key);

    const [own, twice, intruder, unknown] = await Promise.all([
      Promise.all(lessons.map(({ paid, id }, i) => confirm(parentOf(paid), id, keys[i]))),
      confirm(parentOf(lessons[0].paid), lessons[0].id),
      confirm(parentOf(orders[1]), lessons[0].id),
      confirm(parentOf(orders[0]), randomUUID()),
    ]);

    // Lesson 0 was confirmed by two requests of its parent: one of them won.
    const first = [own[0], twice];
    expect(first.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(first.find((r) => r.status === 409)?.body.code).toBe('LESSON_ALREADY_CONFIRMED');
    for (const response of own.slice(1)) expect(response.status).toBe(200);
    expect(intruder.status).toBe(404);
    expect(intruder.body.code).toBe('LESSON_NOT_FOUND');
    expect(unknown.status).toBe(404);
    for (const { id } of lessons) {
      expect(await ledgerKindsOf(t, id)).toEqual({ lesson_hold: 1, lesson_release: 1 });
    }
    for (const paid of orders) {
      expect((await booksOf(t, paid)).escrow.postedFen).toBe(
        paid.order.amountFen - 4 * paid.order.lessonPriceFen,
      );
    }
    // Retries with the same keys get the stored answers and move nothing.
    const retries = await Promise.all(
      lessons.map(({ paid, id }, i) => confirm(parentOf(paid), id, keys[i])),
    );
    retries.forEach((retry, i) => {
      if (own[i].status !== 200) return;
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(own[i].body);
    });
    for (const { id } of lessons) {
      expect(await ledgerKindsOf(t, id)).toEqual({ lesson_hold: 1, lesson_release: 1 });
    }
  });

  it('confirms the confirmations waiting for a batch together, in one transaction', async () => {
    const paid = await paidOrder(dataSource);
    const ids: string[] = [];
    for (let i = 0; i < 8; i += 1) ids.push(await recordedLesson(paid, 70 + i));
    const principal: Principal = { sub: paid.order.parentId, role: 'parent' };
    const confirmLesson = t.app.get(ConfirmLesson);
    // Submitted at once: the first CONFIRMATION_BATCHING.maxInFlight go out alone, the others
    // wait for the first to finish and then go out together.
    const answers = await Promise.all(
      ids.map((lessonId) => confirmLesson.execute({ principal, lessonId })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(ids.map(() => 'confirmed'));
    // Rows written by one transaction share its xmin.
    const [{ transactions }] = await dataSource.query(
      'SELECT count(DISTINCT xmin::text)::int AS transactions FROM lessons WHERE id = ANY($1)',
      [ids],
    );
    expect(transactions).toBe(CONFIRMATION_BATCHING.maxInFlight + 1);
    for (const id of ids) {
      expect(await ledgerKindsOf(t, id)).toEqual({ lesson_hold: 1, lesson_release: 1 });
    }
  });

  const conflictsSoFar = async () =>
    (await t.app.get(MetricsService).confirmationConflicts.get()).values[0]?.value ?? 0;

  /**
   * Runs `change` in a transaction that holds `lessonId`'s row lock until a confirmation
   * statement waits for it, then commits; returns the response to `confirm`, sent meanwhile.
   */
  async function changeWhileTheStatementWaits(
    lessonId: string,
    change: (holder: QueryRunner) => Promise<unknown>,
    confirm: () => Promise<request.Response>,
  ): Promise<request.Response> {
    const holder = dataSource.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query('SELECT 1 FROM lessons WHERE id = $1 FOR UPDATE', [lessonId]);
      const confirming = confirm();
      await eventually(async () => {
        const [{ waiting }] = await dataSource.query(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return waiting > 0 ? true : undefined;
      });
      await change(holder);
      await holder.commitTransaction();
      return await confirming;
    } finally {
      if (holder.isTransactionActive) await holder.rollbackTransaction();
      await holder.release();
    }
  }

  it('confirms a lesson changed while the batch statement waited for its lock, as it is now', async () => {
    const paid = await paidOrder(dataSource);
    const lessonId = await recordedLesson(paid);
    const conflicts = await conflictsSoFar();
    const key = randomUUID();
    const parent = as.parent(paid.order.parentId);
    const confirm = () => lessonCommand(t, parent, `/v1/lessons/${lessonId}/confirm`, {}, key);
    const response = await changeWhileTheStatementWaits(
      lessonId,
      (holder) =>
        holder.query(`UPDATE lessons SET note = 'Moved to room 3.' WHERE id = $1`, [lessonId]),
      // sent now: a supertest request goes out when awaited
      () => confirm().then((sent) => sent),
    );
    expect(response.status).toBe(200);
    // Answered, and stored, from the row as the other transaction left it.
    expect(response.body).toMatchObject({ status: 'confirmed', note: 'Moved to room 3.' });
    expect((await confirm()).body).toEqual(response.body);
    expect(await conflictsSoFar()).toBe(conflicts);
    expect(await ledgerKindsOf(t, lessonId)).toEqual({ lesson_hold: 1, lesson_release: 1 });
  });

  it('refuses a confirmation whose lesson was disputed while the statement waited, storing no key', async () => {
    const paid = await paidOrder(dataSource);
    const lessonId = await recordedLesson(paid);
    const key = randomUUID();
    const parent = as.parent(paid.order.parentId);
    const response = await changeWhileTheStatementWaits(
      lessonId,
      (holder) =>
        holder.query(
          `UPDATE lessons SET status = 'disputed', dispute_reason = 'No.', disputed_at = now()
           WHERE id = $1`,
          [lessonId],
        ),
      () => lessonCommand(t, parent, `/v1/lessons/${lessonId}/confirm`, {}, key).then((r) => r),
    );
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('LESSON_DISPUTED');
    expect(await ledgerKindsOf(t, lessonId)).toEqual({ lesson_hold: 1 });
    const stored = await dataSource.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key]);
    expect(stored).toHaveLength(0);
    expect((await lessonRow(t, lessonId))?.status).toBe('disputed');
  });

  it('confirms a lesson asked for twice in a batch once, and answers the other after it', async () => {
    const paid = await paidOrder(dataSource);
    const [first, second, lessonId] = [
      await recordedLesson(paid, 72),
      await recordedLesson(paid, 71),
      await recordedLesson(paid, 70),
    ];
    const principal: Principal = { sub: paid.order.parentId, role: 'parent' };
    const keys = [randomUUID(), randomUUID()];
    // The first two take the batches in flight; the lesson, asked for twice with two keys, waits
    // and goes out twice in one batch.
    const answers = await Promise.allSettled(
      [first, second, lessonId, lessonId].map((id, i) =>
        t.app.get(ConfirmLesson).execute({
          principal,
          lessonId: id,
          idempotency:
            i < 2
              ? undefined
              : { scope: principal.sub, key: keys[i - 2], fingerprint: 'f', statusCode: 200 },
        }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
    ]);
    expect(answers[3]).toMatchObject({ reason: { code: 'LESSON_ALREADY_CONFIRMED' } });
    const stored = await dataSource.query('SELECT key FROM idempotency_keys WHERE key = ANY($1)', [
      keys,
    ]);
    expect(stored).toEqual([{ key: keys[0] }]);
    expect(await ledgerKindsOf(t, lessonId)).toEqual({ lesson_hold: 1, lesson_release: 1 });
  });

  it('confirms on its own a lesson the batch statement left awaiting confirmation', async () => {
    const paid = await paidOrder(dataSource);
    const lessonId = await recordedLesson(paid);
    const conflicts = await conflictsSoFar();
    // As if the statement had found the lesson otherwise than it is read after it.
    const confirmLesson = t.app.get<ConfirmLesson, BatchWork>(ConfirmLesson);
    const spy = jest
      .spyOn(confirmLesson, 'writeConfirmations')
      .mockImplementationOnce((_manager: unknown, items: unknown) =>
        Promise.resolve((items as unknown[]).map(() => undefined)),
      );
    const key = randomUUID();
    const parent = as.parent(paid.order.parentId);
    try {
      const response = await lessonCommand(t, parent, `/v1/lessons/${lessonId}/confirm`, {}, key);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ id: lessonId, status: 'confirmed' });
      expect(spy).toHaveBeenCalledTimes(2); // the batch, then the lesson on its own
      const retry = await lessonCommand(t, parent, `/v1/lessons/${lessonId}/confirm`, {}, key);
      expect(retry.body).toEqual(response.body);
    } finally {
      spy.mockRestore();
    }
    expect(await conflictsSoFar()).toBe(conflicts + 1);
    expect(await ledgerKindsOf(t, lessonId)).toEqual({ lesson_hold: 1, lesson_release: 1 });
  });

  it('finds a lesson named in capitals, alone and within a batch', async () => {
    const paid = await paidOrder(dataSource);
    const ids = [await recordedLesson(paid, 62), await recordedLesson(paid, 61)];
    const parent = as.parent(paid.order.parentId);
    const responses = await Promise.all(
      ids.map((id) => lessonCommand(t, parent, `/v1/lessons/${id.toUpperCase()}/confirm`)),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(responses.map((r) => r.body.id)).toEqual(ids);
  });

  it('refuses a key sent with two lessons at once, and confirms the other lesson once', async () => {
    const paid = await paidOrder(dataSource);
    const ids = [await recordedLesson(paid, 61), await recordedLesson(paid, 60)];
    const others = await Promise.all([0, 1, 2].map(() => paidOrder(dataSource)));
    const otherLessons = await Promise.all(others.map((other) => recordedLesson(other)));
    const key = randomUUID();
    const parent = as.parent(paid.order.parentId);
    const [responses] = await Promise.all([
      Promise.all(ids.map((id) => lessonCommand(t, parent, `/v1/lessons/${id}/confirm`, {}, key))),
      // Company, so that the two land in a batch with others.
      Promise.all(
        others.map((other, i) =>
          lessonCommand(
            t,
            as.parent(other.order.parentId),
            `/v1/lessons/${otherLessons[i]}/confirm`,
          ).expect(200),
        ),
      ),
    ]);
    expect(responses.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(responses.find((r) => r.status === 409)?.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const releases = await Promise.all(ids.map((id) => ledgerKindsOf(t, id)));
    expect(releases.map((kinds) => kinds.lesson_release ?? 0).sort()).toEqual([0, 1]);
  });

  it('runs a batch that failed as a whole one confirmation at a time, each answered once', async () => {
    const paid = await paidOrder(dataSource);
    const ids = [await recordedLesson(paid, 62), await recordedLesson(paid, 61)];
    const work = jest
      .spyOn(t.app.get<ConfirmLesson, BatchWork>(ConfirmLesson), 'confirmCandidates')
      .mockRejectedValueOnce(new Error('connection lost'));
    const fallbacks = t.app.get(MetricsService).confirmationBatchFallbacks;
    const before = (await fallbacks.get()).values[0]?.value ?? 0;
    try {
      const parent = as.parent(paid.order.parentId);
      const responses = await Promise.all(
        ids.map((id) => lessonCommand(t, parent, `/v1/lessons/${id}/confirm`, {}, randomUUID())),
      );
      expect(responses.map((r) => r.status)).toEqual([200, 200]);
    } finally {
      work.mockRestore();
    }
    expect((await fallbacks.get()).values[0]?.value).toBe(before + 1);
    for (const id of ids) {
      expect(await ledgerKindsOf(t, id)).toEqual({ lesson_hold: 1, lesson_release: 1 });
    }
  });

  it('keeps the answers a batch committed when the read after its statement fails', async () => {
    const paid = await paidOrder(dataSource);
    const [first, second, fresh, done] = [
      await recordedLesson(paid, 73),
      await recordedLesson(paid, 72),
      await recordedLesson(paid, 71),
      await recordedLesson(paid, 70),
    ];
    const principal: Principal = { sub: paid.order.parentId, role: 'parent' };
    const confirmLesson = t.app.get(ConfirmLesson);
    await confirmLesson.execute({ principal, lessonId: done });
    const batchWork = confirmLesson as unknown as BatchWork;
    const refuse = batchWork.refuse.bind(confirmLesson);
    let failedReads = 0;
    const spy = jest
      .spyOn(batchWork, 'refuse')
      .mockImplementation((commands: unknown, refused: unknown, outcomes: unknown) => {
        if ((refused as unknown[]).length === 0 || failedReads > 0) {
          return refuse(commands, refused, outcomes);
        }
        failedReads += 1;
        return Promise.reject(new Error('connection lost'));
      });
    const fallbacks = t.app.get(MetricsService).confirmationBatchFallbacks;
    const before = (await fallbacks.get()).values[0]?.value ?? 0;
    try {
      // The first two take the batches in flight; the fresh lesson and the confirmed one wait
      // and go out together, and the statement confirms the fresh one before the read fails.
      const answers = await Promise.allSettled(
        [first, second, fresh, done].map((lessonId) =>
          confirmLesson.execute({ principal, lessonId }),
        ),
      );
      expect(answers.slice(0, 3).map((answer) => answer.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'fulfilled',
      ]);
      expect(answers[2]).toMatchObject({ value: { id: fresh, status: 'confirmed' } });
      expect(answers[3]).toMatchObject({
        status: 'rejected',
        reason: { code: 'LESSON_ALREADY_CONFIRMED' },
      });
    } finally {
      spy.mockRestore();
    }
    expect(failedReads).toBe(1);
    expect((await fallbacks.get()).values[0]?.value).toBe(before + 1);
    expect(await ledgerKindsOf(t, fresh)).toEqual({ lesson_hold: 1, lesson_release: 1 });
  });

  it('lets exactly one of racing confirmations and disputes win', async () => {
    const paid = await paidOrder(dataSource);
    const lessonId = await recordedLesson(paid);
    const parent = as.parent(paid.order.parentId);
    const responses = await Promise.all(
      Array.from({ length: RACERS }, (_, i) =>
        i % 2 === 0
          ? lessonCommand(t, parent, `/v1/lessons/${lessonId}/confirm`)
          : lessonCommand(t, parent, `/v1/lessons/${lessonId}/dispute`, { reason: 'No.' }),
      ),
    );
    const winners = responses.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    const status = winners[0].body.status as string;
    expect((await lessonRow(t, lessonId))?.status).toBe(status);
    const loserCode = status === 'confirmed' ? 'LESSON_ALREADY_CONFIRMED' : 'LESSON_DISPUTED';
    expect(new Set(responses.filter((r) => r.status !== 200).map((r) => r.body.code))).toEqual(
      new Set([loserCode]),
    );
    expect(await ledgerKindsOf(t, lessonId)).toEqual(
      status === 'confirmed' ? { lesson_hold: 1, lesson_release: 1 } : { lesson_hold: 1 },
    );
  });

  it('numbers lessons of one order recorded at once without gaps, and stops at the last', async () => {
    const paid = await paidOrder(dataSource, {
      course: { priceFen: 1_000 },
      order: { lessonsPaid: 8, lessonPriceFen: 1_000, amountFen: 8_000, bonusLessons: 2 },
    });
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        recordLesson(t, as.institution(paid.fixture.institution), {
          orderId: paid.order.id,
          deliveredAt: minutesAgo(600 - i),
        }),
      ),
    );
    const created = responses.filter((r) => r.status === 201);
    expect(created).toHaveLength(10);
    expect(responses.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual([
      'LESSONS_EXHAUSTED',
      'LESSONS_EXHAUSTED',
    ]);
    expect(created.map((r) => r.body.sequence).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    const fees = created.map((r) => r.body.feeFen as number);
    expect(fees.reduce((a, b) => a + b, 0)).toBe(8_000);
    expect(await booksOf(t, paid)).toMatchObject({
      escrow: { postedFen: 8_000, pendingDebitsFen: 8_000, availableFen: 0 },
    });
    const list = await request(t.http)
      .get('/v1/lessons')
      .query({ orderId: paid.order.id })
      .set('Authorization', as.parent(paid.order.parentId))
      .expect(200);
    expect(list.body.items).toHaveLength(10);
  });
});
