/**
 * Lessons over HTTP: recording holds a lesson's fee, confirmation releases it, a dispute keeps it
 * held until an operator releases or refunds it. Balances are checked to the fen.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { LedgerService } from '../../src/ledger/ledger.service';
import { lockLesson } from '../../src/lessons/lesson-scope';
import { lessonDtoSql, toLessonDto } from '../../src/lessons/lesson-view.dto';
import { LESSON_STATUSES, Lesson } from '../../src/lessons/lesson.entity';
import { ConfirmLesson } from '../../src/lessons/usecases/confirm-lesson';
import { createInstitution, createOrder, isoDate, tokens } from '../support/factories';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';
import {
  PaidOrder,
  booksOf,
  chinaTime,
  ledgerKindsOf,
  lessonCommand,
  lessonRow,
  minutesAgo,
  paidOrder,
  recordLesson,
} from './support';

describe('lessons (HTTP)', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;

  beforeAll(async () => {
    t = await createLedgerTestApp();
    ({ dataSource, as } = t);
  });

  afterAll(() => closeWithBooksBalanced(t));

  const institutionOf = (paid: PaidOrder) => as.institution(paid.fixture.institution);
  const parentOf = (paid: PaidOrder) => as.parent(paid.order.parentId);
  const operatorOf = (paid: PaidOrder) => as.operator(paid.fixture.institution.districtId);
  const auditorOf = (paid: PaidOrder) => as.auditor(paid.fixture.institution.districtId);

  async function record(paid: PaidOrder, minutes: number, note?: string) {
    const response = await recordLesson(t, institutionOf(paid), {
      orderId: paid.order.id,
      deliveredAt: minutesAgo(minutes),
      ...(note ? { note } : {}),
    }).expect(201);
    return response.body as { id: string; sequence: number; feeFen: number };
  }

  const confirm = (paid: PaidOrder, lessonId: string, body: Record<string, unknown> = {}) =>
    lessonCommand(t, parentOf(paid), `/v1/lessons/${lessonId}/confirm`, body);
  const dispute = (paid: PaidOrder, lessonId: string, reason = 'The teacher did not come.') =>
    lessonCommand(t, parentOf(paid), `/v1/lessons/${lessonId}/dispute`, { reason });
  const resolve = (paid: PaidOrder, lessonId: string, outcome: 'release' | 'refund') =>
    lessonCommand(t, operatorOf(paid), `/v1/disputes/${lessonId}/resolve`, {
      outcome,
      note: 'Checked the attendance record.',
    });

  describe('the story of an order', () => {
    it('holds on record, releases on confirm, and pays out exactly what was paid', async () => {
      const paid = await paidOrder(dataSource, {
        course: { priceFen: 1_000 },
        order: { lessonsPaid: 3, lessonPriceFen: 1_000, amountFen: 3_000, bonusLessons: 1 },
      });
      expect(await booksOf(t, paid)).toMatchObject({
        escrow: { postedFen: 3_000, pendingDebitsFen: 0, availableFen: 3_000 },
        payable: { postedFen: 0, pendingCreditsFen: 0 },
      });

      const deliveredAt = minutesAgo(180);
      const first = await recordLesson(t, institutionOf(paid), {
        orderId: paid.order.id,
        deliveredAt,
        note: 'Fractions, chapter 3',
      }).expect(201);
      expect(first.body).toMatchObject({
        orderId: paid.order.id,
        sequence: 1,
        status: 'awaiting_confirmation',
        feeFen: 1_000,
        deliveredAt: new Date(deliveredAt).toISOString(),
        note: 'Fractions, chapter 3',
        releasedAt: null,
        recordedBy: 'staff-1',
        recordedAt: expect.any(String),
        confirmedAt: null,
        disputeReason: null,
      });
      expect(first.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await booksOf(t, paid)).toMatchObject({
        escrow: { postedFen: 3_000, pendingDebitsFen: 1_000, availableFen: 2_000 },
        payable: { postedFen: 0, pendingCreditsFen: 1_000 },
      });
      expect(await ledgerKindsOf(t, first.body.id)).toEqual({ lesson_hold: 1 });

      const confirmed = await confirm(paid, first.body.id, {
        rating: 1,
        comment: 'Too fast.',
      }).expect(200);
      expect(confirmed.body).toMatchObject({
        id: first.body.id,
        status: 'confirmed',
        feeFen: 1_000,
        rating: 1,
        comment: 'Too fast.',
        confirmedBy: paid.order.parentId,
        confirmationRule: null,
      });
      expect(Date.parse(confirmed.body.releasedAt)).not.toBeNaN();
      expect(await booksOf(t, paid)).toMatchObject({
        escrow: { postedFen: 2_000, pendingDebitsFen: 0, availableFen: 2_000 },
        payable: { postedFen: 1_000, pendingCreditsFen: 0 },
      });
      expect(await ledgerKindsOf(t, first.body.id)).toEqual({ lesson_hold: 1, lesson_release: 1 });

      const second = await record(paid, 120);
      const third = await record(paid, 60);
      const bonus = await record(paid, 30);
      expect([second, third, bonus].map((l) => [l.sequence, l.feeFen])).toEqual([
        [2, 1_000],
        [3, 1_000],
        [4, 0],
      ]);
      const exhausted = await recordLesson(t, institutionOf(paid), {
        orderId: paid.order.id,
        deliveredAt: minutesAgo(10),
      }).expect(409);
      expect(exhausted.body.code).toBe('LESSONS_EXHAUSTED');

      for (const lesson of [second, bonus]) {
        await confirm(paid, lesson.id).expect(200);
      }
      // A confirmation needs no body at all.
      await request(t.http)
        .post(`/v1/lessons/${third.id}/confirm`)
        .set('Authorization', parentOf(paid))
        .expect(200);
      const bonusView = await request(t.http)
        .get(`/v1/lessons/${bonus.id}`)
        .set('Authorization', parentOf(paid))
        .expect(200);
      expect(bonusView.body).toMatchObject({ status: 'confirmed', feeFen: 0, rating: null });
      expect(await ledgerKindsOf(t, bonus.id)).toEqual({});
      expect(await booksOf(t, paid)).toMatchObject({
        escrow: { postedFen: 0, pendingDebitsFen: 0, availableFen: 0 },
        payable: { postedFen: 3_000, pendingCreditsFen: 0 },
      });

      const list = await request(t.http)
        .get('/v1/lessons')
        .query({ orderId: paid.order.id })
        .set('Authorization', parentOf(paid))
        .expect(200);
      expect(list.body.items.map((l: { sequence: number }) => l.sequence)).toEqual([1, 2, 3, 4]);
      expect(list.body.items.map((l: { status: string }) => l.status)).toEqual(
        Array(4).fill('confirmed'),
      );
    });

    it('releases ten lessons one by one, each to the fen', async () => {
      const paid = await paidOrder(dataSource, {
        course: { priceFen: 4_321 },
        order: { lessonsPaid: 10, lessonPriceFen: 4_321, amountFen: 43_210 },
      });
      for (let i = 1; i <= 10; i += 1) {
        const lesson = await record(paid, 600 - i * 10);
        expect(lesson).toMatchObject({ sequence: i, feeFen: 4_321 });
        await confirm(paid, lesson.id).expect(200);
        expect(await booksOf(t, paid)).toMatchObject({
          escrow: { postedFen: 43_210 - i * 4_321, pendingDebitsFen: 0 },
          payable: { postedFen: i * 4_321, pendingCreditsFen: 0 },
        });
      }
    });

    it('makes the fees of an order sum exactly to its amount', async () => {
      const paid = await paidOrder(dataSource, {
        course: { priceFen: 333 },
        order: { lessonsPaid: 3, lessonPriceFen: 333, amountFen: 999 },
      });
      const fees: number[] = [];
      for (const minutes of [90, 60, 30]) {
        const lesson = await record(paid, minutes);
        fees.push(lesson.feeFen);
        await confirm(paid, lesson.id).expect(200);
      }
      expect(fees.reduce((a, b) => a + b, 0)).toBe(999);
      expect(await booksOf(t, paid)).toMatchObject({
        escrow: { postedFen: 0 },
        payable: { postedFen: 999 },
      });
    });
  });

  describe('disputes', () => {
    it('keeps a disputed fee held, then releases it on the operator’s word', async () => {
      const paid = await paidOrder(dataSource);
      const fee = paid.order.lessonPriceFen;
      const lesson = await record(paid, 60);
      const disputed = await dispute(paid, lesson.id).expect(200);
      expect(disputed.body).toMatchObject({
        id: lesson.id,
        status: 'disputed',
        disputeReason: 'The teacher did not come.',
      });
      expect(await booksOf(t, paid)).toMatchObject({
        escrow: { postedFen: paid.order.amountFen, pendingDebitsFen: fee },
        payable: { postedFen: 0, pendingCreditsFen: fee },
      });
      expect((await confirm(paid, lesson.id).expect(409)).body.code).toBe('LESSON_DISPUTED');
      expect((await dispute(paid, lesson.id).expect(409)).body.code).toBe('LESSON_DISPUTED');

      const open = await request(t.http)
        .get('/v1/disputes')
        .set('Authorization', auditorOf(paid))
        .expect(200);
      expect(open.body.items.map((l: { id: string }) => l.id)).toEqual([lesson.id]);

      const released = await resolve(paid, lesson.id, 'release').expect(200);
      expect(released.body).toMatchObject({
        id: lesson.id,
        status: 'released',
        resolvedOutcome: 'release',
        resolvedBy: 'op-1',
        resolutionNote: 'Checked the attendance record.',
      });
      expect(Date.parse(released.body.releasedAt)).not.toBeNaN();
      expect(await booksOf(t, paid)).toMatchObject({
        escrow: { postedFen: paid.order.amountFen - fee, pendingDebitsFen: 0 },
        payable: { postedFen: fee, pendingCreditsFen: 0 },
      });
      expect(await ledgerKindsOf(t, lesson.id)).toEqual({ lesson_hold: 1, lesson_release: 1 });

      const again = await resolve(paid, lesson.id, 'refund').expect(409);
      expect(again.body.code).toBe('LESSON_NOT_DISPUTED');
      expect((await confirm(paid, lesson.id).expect(409)).body.code).toBe(
        'LESSON_ALREADY_CONFIRMED',
      );
      const none = await request(t.http)
        .get('/v1/disputes')
        .set('Authorization', operatorOf(paid))
        .expect(200);
      expect(none.body).toEqual({ items: [], nextCursor: null });
    });

    it('returns a refunded fee to the order, available again', async () => {
      const paid = await paidOrder(dataSource);
      const fee = paid.order.lessonPriceFen;
      const lesson = await record(paid, 60);
      await dispute(paid, lesson.id).expect(200);
      const refunded = await resolve(paid, lesson.id, 'refund').expect(200);
      expect(refunded.body).toMatchObject({
        status: 'refunded',
        resolvedOutcome: 'refund',
        releasedAt: null,
      });
      expect(await booksOf(t, paid)).toMatchObject({
        escrow: {
          postedFen: paid.order.amountFen,
          pendingDebitsFen: 0,
          availableFen: paid.order.amountFen,
        },
        payable: { postedFen: 0, pendingCreditsFen: 0 },
      });
      expect(await ledgerKindsOf(t, lesson.id)).toEqual({ lesson_hold: 1, lesson_void: 1 });
      expect((await confirm(paid, lesson.id).expect(409)).body.code).toBe('LESSON_REFUNDED');
      expect((await dispute(paid, lesson.id).expect(409)).body.code).toBe('LESSON_REFUNDED');
      expect((await resolve(paid, lesson.id, 'release').expect(409)).body.code).toBe(
        'LESSON_NOT_DISPUTED',
      );

      // The refunded lesson keeps its place: the next lesson is the second.
      const next = await record(paid, 30);
      expect(next).toMatchObject({ sequence: 2, feeFen: fee });
    });

    it('refuses to resolve a lesson nobody disputed', async () => {
      const paid = await paidOrder(dataSource);
      const lesson = await record(paid, 60);
      const response = await resolve(paid, lesson.id, 'release').expect(409);
      expect(response.body.code).toBe('LESSON_NOT_DISPUTED');
      expect(await ledgerKindsOf(t, lesson.id)).toEqual({ lesson_hold: 1 });
    });

    it('takes a bonus lesson through a dispute without touching the ledger', async () => {
      const paid = await paidOrder(dataSource, { order: { lessonsPaid: 1, bonusLessons: 1 } });
      await record(paid, 90);
      const bonus = await record(paid, 60);
      expect(bonus.feeFen).toBe(0);
      await dispute(paid, bonus.id).expect(200);
      await resolve(paid, bonus.id, 'refund').expect(200);
      expect(await ledgerKindsOf(t, bonus.id)).toEqual({});
      expect((await lessonRow(t, bonus.id))?.status).toBe('refunded');
    });

    it('pages through open disputes oldest first', async () => {
      const paid = await paidOrder(dataSource);
      const ids: string[] = [];
      for (const minutes of [90, 60, 30]) {
        const lesson = await record(paid, minutes);
        await dispute(paid, lesson.id).expect(200);
        ids.push(lesson.id);
      }
      const first = await request(t.http)
        .get('/v1/disputes')
        .query({ limit: 2 })
        .set('Authorization', operatorOf(paid))
        .expect(200);
      expect(first.body.items.map((l: { id: string }) => l.id)).toEqual(ids.slice(0, 2));
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const rest = await request(t.http)
        .get('/v1/disputes')
        .query({ limit: 2, cursor: first.body.nextCursor })
        .set('Authorization', operatorOf(paid))
        .expect(200);
      expect(rest.body).toEqual({
        items: [expect.objectContaining({ id: ids[2], status: 'disputed' })],
        nextCursor: null,
      });
    });
  });

  describe('refusals when recording', () => {
    it('refuses an order that is not paid', async () => {
      const fixture = await createInstitution(dataSource);
      const paid = await paidOrder(dataSource, { fixture });
      const unpaid = await createOrder(dataSource, {
        institution: fixture.institution,
        course: paid.course,
      });
      const response = await recordLesson(t, as.institution(fixture.institution), {
        orderId: unpaid.id,
        deliveredAt: minutesAgo(60),
      }).expect(409);
      expect(response.body.code).toBe('ORDER_NOT_ACTIVE');
    });

    it('refuses when the institution is suspended', async () => {
      const paid = await paidOrder(dataSource);
      await dataSource.query(`UPDATE institutions SET status = 'suspended' WHERE id = $1`, [
        paid.fixture.institution.id,
      ]);
      const response = await recordLesson(t, institutionOf(paid), {
        orderId: paid.order.id,
        deliveredAt: minutesAgo(60),
      }).expect(409);
      expect(response.body.code).toBe('INSTITUTION_NOT_ACTIVE');
      expect(await booksOf(t, paid)).toMatchObject({ escrow: { pendingDebitsFen: 0 } });
    });

    it('refuses a lesson in the future, allowing five minutes of clock skew', async () => {
      const paid = await paidOrder(dataSource);
      const future = await recordLesson(t, institutionOf(paid), {
        orderId: paid.order.id,
        deliveredAt: chinaTime(new Date(Date.now() + 10 * 60_000)),
      }).expect(422);
      expect(future.body.code).toBe('LESSON_IN_FUTURE');
      await recordLesson(t, institutionOf(paid), {
        orderId: paid.order.id,
        deliveredAt: chinaTime(new Date(Date.now() + 2 * 60_000)),
      }).expect(201);
    });

    it('refuses a lesson before the course starts, by the date in China', async () => {
      const startsOn = isoDate(-10);
      const dayBefore = isoDate(-11);
      const paid = await paidOrder(dataSource, { course: { startsOn } });
      // 23:30 in China the day before is 15:30 UTC: before the course in China time.
      const early = await recordLesson(t, institutionOf(paid), {
        orderId: paid.order.id,
        deliveredAt: `${dayBefore}T23:30:00+08:00`,
      }).expect(422);
      expect(early.body.code).toBe('LESSON_BEFORE_COURSE_START');
      // 00:30 in China on the first day is still the day before in UTC: allowed.
      const onTime = await recordLesson(t, institutionOf(paid), {
        orderId: paid.order.id,
        deliveredAt: `${startsOn}T00:30:00+08:00`,
      }).expect(201);
      expect(onTime.body.sequence).toBe(1);
    });

    it('refuses the same delivery twice, whatever offset it is written in', async () => {
      const paid = await paidOrder(dataSource);
      const deliveredAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
      await recordLesson(t, institutionOf(paid), {
        orderId: paid.order.id,
        deliveredAt: chinaTime(deliveredAt),
      }).expect(201);
      const twice = await recordLesson(t, institutionOf(paid), {
        orderId: paid.order.id,
        deliveredAt: deliveredAt.toISOString(),
      }).expect(409);
      expect(twice.body.code).toBe('LESSON_ALREADY_RECORDED');
      expect(await booksOf(t, paid)).toMatchObject({
        escrow: { pendingDebitsFen: paid.order.lessonPriceFen },
      });
    });

    it('surfaces the ledger refusing a hold the escrow cannot cover', async () => {
      const paid = await paidOrder(dataSource);
      // Another movement (a refund, say) has taken the escrow down to less than one lesson.
      await dataSource.transaction((manager) =>
        t.app.get(LedgerService).post(manager, {
          kind: 'refund_approved',
          reference: `test-refund:${paid.order.id}`,
          institutionId: paid.order.institutionId,
          transfers: [
            {
              debitAccountId: paid.order.escrowAccountId,
              creditAccountId: paid.fixture.accounts.refund_payable,
              amountFen: paid.order.amountFen - 1,
            },
          ],
        }),
      );
      const response = await recordLesson(t, institutionOf(paid), {
        orderId: paid.order.id,
        deliveredAt: minutesAgo(60),
      }).expect(409);
      expect(response.body.code).toBe('INSUFFICIENT_FUNDS');
      const [{ count }] = await dataSource.query(
        'SELECT count(*)::int AS count FROM lessons WHERE order_id = $1',
        [paid.order.id],
      );
      expect(count).toBe(0);
    });
  });

  describe('idempotent retries', () => {
    it('records a lesson once for one key, and refuses the key with another body', async () => {
      const paid = await paidOrder(dataSource);
      const key = randomUUID();
      const body = { orderId: paid.order.id, deliveredAt: minutesAgo(60) };
      const first = await recordLesson(t, institutionOf(paid), body, key).expect(201);
      const again = await recordLesson(t, institutionOf(paid), body, key).expect(201);
      expect(again.body).toEqual(first.body);
      const other = await recordLesson(
        t,
        institutionOf(paid),
        { ...body, deliveredAt: minutesAgo(30) },
        key,
      ).expect(409);
      expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      const [{ count }] = await dataSource.query(
        'SELECT count(*)::int AS count FROM lessons WHERE order_id = $1',
        [paid.order.id],
      );
      expect(count).toBe(1);
    });

    it('answers a retried confirmation with the first response', async () => {
      const paid = await paidOrder(dataSource);
      const lesson = await record(paid, 60);
      const key = randomUUID();
      const path = `/v1/lessons/${lesson.id}/confirm`;
      const first = await lessonCommand(t, parentOf(paid), path, { rating: 4 }, key).expect(200);
      const again = await lessonCommand(t, parentOf(paid), path, { rating: 4 }, key).expect(200);
      expect(again.body).toEqual(first.body);
      expect(await ledgerKindsOf(t, lesson.id)).toEqual({ lesson_hold: 1, lesson_release: 1 });
    });
  });

  describe('reads', () => {
    it('shows a lesson to its parent, its institution and its district', async () => {
      const paid = await paidOrder(dataSource);
      const lesson = await record(paid, 60);
      for (const token of [
        parentOf(paid),
        institutionOf(paid),
        auditorOf(paid),
        operatorOf(paid),
      ]) {
        const one = await request(t.http)
          .get(`/v1/lessons/${lesson.id}`)
          .set('Authorization', token)
          .expect(200);
        expect(one.body).toMatchObject({ id: lesson.id, status: 'awaiting_confirmation' });
        const list = await request(t.http)
          .get('/v1/lessons')
          .query({ orderId: paid.order.id })
          .set('Authorization', token)
          .expect(200);
        expect(list.body.items.map((l: { id: string }) => l.id)).toEqual([lesson.id]);
      }
    });

    it('lists an order without lessons as empty, and an unknown order as not found', async () => {
      const paid = await paidOrder(dataSource);
      const empty = await request(t.http)
        .get('/v1/lessons')
        .query({ orderId: paid.order.id })
        .set('Authorization', parentOf(paid))
        .expect(200);
      expect(empty.body).toEqual({ items: [] });
      const unknown = await request(t.http)
        .get('/v1/lessons')
        .query({ orderId: randomUUID() })
        .set('Authorization', auditorOf(paid))
        .expect(404);
      expect(unknown.body.code).toBe('ORDER_NOT_FOUND');
      const missing = await request(t.http)
        .get(`/v1/lessons/${randomUUID()}`)
        .set('Authorization', auditorOf(paid))
        .expect(404);
      expect(missing.body.code).toBe('LESSON_NOT_FOUND');
    });
  });

  /**
   * A confirmation's answer is built in SQL (lessonDtoSql), so that its statement can store it
   * under the request's key; every other answer is toLessonDto's. They must be the same text for
   * a lesson in every state, with and without its optional fields.
   */
  describe('the answer built in SQL', () => {
    /** Lessons in every state, their optional fields both set and unset; returns their ids. */
    async function lessonsInEveryState(): Promise<string[]> {
      const paid = await paidOrder(dataSource, { order: { lessonsPaid: 8, bonusLessons: 2 } });
      const ids: string[] = [];
      const next = async (note?: string) => {
        ids.push((await record(paid, 600 - ids.length, note)).id);
        return ids[ids.length - 1];
      };
      await next(); // awaiting confirmation, no note
      await next('Fractions, chapter 3 — "quoted", \\ back-slashed, 分数'); // awaiting, a note
      const rated = await next('Rated.');
      await confirm(paid, rated, {
        rating: 5,
        comment: 'Clear "explanations".\nThank you.',
      }).expect(200);
      const plain = await next();
      await confirm(paid, plain).expect(200);
      const automatic = await next();
      await dataSource.transaction(async (manager) => {
        const lesson = await lockLesson(manager, automatic);
        await t.app.get(ConfirmLesson).confirmLocked(manager, lesson, {
          status: 'auto_confirmed',
          by: 'system',
          at: new Date(),
          rule: 'autoConfirmWorkingDays=15',
        });
      });
      const disputed = await next();
      await dispute(paid, disputed).expect(200);
      for (const outcome of ['release', 'refund'] as const) {
        const resolved = await next();
        await dispute(paid, resolved).expect(200);
        await resolve(paid, resolved, outcome).expect(200);
      }
      // The bonus lessons (fee 0): one confirmed, one awaiting.
      await next();
      const bonus = await next();
      await confirm(paid, bonus).expect(200);
      // Times to the microsecond, as now() writes them, and at the edges of a millisecond.
      await dataSource.query(
        `UPDATE lessons SET created_at = '2026-03-02 10:30:00.123999+00',
                            delivered_at = '2026-03-02 09:00:00.000001+00',
                            confirmed_at = '2026-03-02 23:59:59.999999+00'
         WHERE id = $1`,
        [plain],
      );
      return ids;
    }

    it('writes every lesson as toLessonDto does, to the character', async () => {
      const ids = await lessonsInEveryState();
      const rows: { id: string; json: string }[] = await dataSource.query(
        `SELECT l.id, row_to_json(d)::text AS json
         FROM lessons l CROSS JOIN LATERAL (SELECT ${lessonDtoSql('l')}) d
         WHERE l.id = ANY($1)`,
        [ids],
      );
      expect(rows).toHaveLength(ids.length);
      const lessons = await dataSource.getRepository(Lesson).findBy(ids.map((id) => ({ id })));
      expect(new Set(lessons.map((lesson) => lesson.status))).toEqual(new Set(LESSON_STATUSES));
      expect(new Set(lessons.map((lesson) => lesson.feeFen === 0))).toEqual(new Set([true, false]));
      const expected = new Map(
        lessons.map((lesson) => [lesson.id, JSON.stringify(toLessonDto(lesson))]),
      );
      for (const row of rows) expect(row.json).toBe(expected.get(row.id));
    });

    it('answers a confirmation as reading the lesson answers afterwards', async () => {
      const paid = await paidOrder(dataSource);
      const { id } = await record(paid, 60, 'Geometry.');
      const confirmed = await confirm(paid, id, { rating: 4 }).expect(200);
      const read = await request(t.http)
        .get(`/v1/lessons/${id}`)
        .set('Authorization', parentOf(paid))
        .expect(200);
      expect(confirmed.text).toBe(read.text);
    });
  });
});
