/**
 * Bad input on every lesson and dispute endpoint: 400 VALIDATION_FAILED naming the field, and
 * nothing written — no lesson, no state change, no ledger movement.
 */
import request from 'supertest';
import { DataSource } from 'typeorm';
import { tokens } from '../support/factories';
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

const TOO_LONG = 'x'.repeat(501);

describe('lessons: bad input', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;
  let paid: PaidOrder;
  let awaiting: string;
  let disputed: string;

  beforeAll(async () => {
    t = await createLedgerTestApp();
    ({ dataSource, as } = t);
    paid = await paidOrder(dataSource);
    const institution = as.institution(paid.fixture.institution);
    const parent = as.parent(paid.order.parentId);
    awaiting = (
      await recordLesson(t, institution, {
        orderId: paid.order.id,
        deliveredAt: minutesAgo(120),
      }).expect(201)
    ).body.id;
    disputed = (
      await recordLesson(t, institution, {
        orderId: paid.order.id,
        deliveredAt: minutesAgo(60),
      }).expect(201)
    ).body.id;
    await lessonCommand(t, parent, `/v1/lessons/${disputed}/dispute`, {
      reason: 'Too short.',
    }).expect(200);
  });

  afterAll(() => closeWithBooksBalanced(t));

  const expectInvalid = (response: request.Response, field?: string) => {
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    if (field) {
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  };

  /** The order's books and lessons exactly as the setup left them. */
  const expectNothingWritten = async () => {
    const [{ count }] = await dataSource.query(
      'SELECT count(*)::int AS count FROM lessons WHERE order_id = $1',
      [paid.order.id],
    );
    expect(count).toBe(2);
    expect((await lessonRow(t, awaiting))?.status).toBe('awaiting_confirmation');
    expect((await lessonRow(t, disputed))?.status).toBe('disputed');
    expect(await ledgerKindsOf(t, awaiting)).toEqual({ lesson_hold: 1 });
    expect(await ledgerKindsOf(t, disputed)).toEqual({ lesson_hold: 1 });
    expect(await booksOf(t, paid)).toMatchObject({
      escrow: { postedFen: paid.order.amountFen, pendingDebitsFen: 2 * paid.order.lessonPriceFen },
      payable: { postedFen: 0 },
    });
  };

  afterEach(expectNothingWritten);

  describe('POST /v1/lessons', () => {
    const valid = () => ({ orderId: paid.order.id, deliveredAt: minutesAgo(30) });

    it.each([
      ['orderId', { orderId: 'not-a-uuid' }],
      ['orderId', { orderId: 42 }],
      ['orderId', { orderId: null }],
      ['deliveredAt', { deliveredAt: '2026-03-01' }],
      ['deliveredAt', { deliveredAt: '2026-03-01T10:00:00' }],
      ['deliveredAt', { deliveredAt: '2026-02-30T10:00:00+08:00' }],
      ['deliveredAt', { deliveredAt: '2026-03-01T25:00:00+08:00' }],
      ['deliveredAt', { deliveredAt: '2026-03-01 10:00:00+08:00' }],
      ['deliveredAt', { deliveredAt: 'yesterday' }],
      ['deliveredAt', { deliveredAt: 1_772_000_000_000 }],
      ['deliveredAt', { deliveredAt: null }],
      ['note', { note: TOO_LONG }],
      ['note', { note: 5 }],
      ['teacher', { teacher: 'Ms Li' }],
      ['feeFen', { feeFen: 1 }],
    ])('refuses %s in %j', async (field, change) => {
      const response = await recordLesson(t, as.institution(paid.fixture.institution), {
        ...valid(),
        ...change,
      });
      expectInvalid(response, field);
    });

    it.each([['orderId'], ['deliveredAt']])('requires %s', async (field) => {
      const body: Record<string, unknown> = valid();
      delete body[field];
      const response = await recordLesson(t, as.institution(paid.fixture.institution), body);
      expectInvalid(response, field);
    });

    it('refuses malformed JSON and a body that is not an object', async () => {
      const token = as.institution(paid.fixture.institution);
      expectInvalid(
        await request(t.http)
          .post('/v1/lessons')
          .set('Authorization', token)
          .set('Content-Type', 'application/json')
          .send('{"orderId": '),
      );
      expectInvalid(
        await request(t.http)
          .post('/v1/lessons')
          .set('Authorization', token)
          .set('Content-Type', 'application/json')
          .send('[1, 2]'),
      );
    });

    it('refuses a malformed Idempotency-Key', async () => {
      const response = await recordLesson(
        t,
        as.institution(paid.fixture.institution),
        valid(),
        'k'.repeat(256),
      );
      expectInvalid(response, 'Idempotency-Key');
    });
  });

  describe('POST /v1/lessons/:id/confirm', () => {
    const confirm = (body: Record<string, unknown>, id = awaiting) =>
      lessonCommand(t, as.parent(paid.order.parentId), `/v1/lessons/${id}/confirm`, body);

    it.each([
      ['rating', { rating: 0 }],
      ['rating', { rating: 6 }],
      ['rating', { rating: 2.5 }],
      ['rating', { rating: '5' }],
      ['rating', { rating: true }],
      ['comment', { comment: TOO_LONG }],
      ['comment', { comment: ['nice'] }],
      ['status', { status: 'released' }],
    ])('refuses %s in %j', async (field, body) => {
      expectInvalid(await confirm(body), field);
    });

    it('refuses an id that is not a UUID', async () => {
      expectInvalid(await confirm({}, 'lesson-1'), 'id');
    });
  });

  describe('POST /v1/lessons/:id/dispute', () => {
    const dispute = (body: Record<string, unknown>, id = awaiting) =>
      lessonCommand(t, as.parent(paid.order.parentId), `/v1/lessons/${id}/dispute`, body);

    it.each([
      ['reason', {}],
      ['reason', { reason: '' }],
      ['reason', { reason: '   ' }],
      ['reason', { reason: TOO_LONG }],
      ['reason', { reason: 7 }],
      ['severity', { reason: 'Too short.', severity: 'high' }],
    ])('refuses %s in %j', async (field, body) => {
      expectInvalid(await dispute(body), field);
    });

    it('refuses an id that is not a UUID', async () => {
      expectInvalid(await dispute({ reason: 'Too short.' }, '1234'), 'id');
    });
  });

  describe('POST /v1/disputes/:lessonId/resolve', () => {
    const resolve = (body: Record<string, unknown>, id = disputed) =>
      lessonCommand(
        t,
        as.operator(paid.fixture.institution.districtId),
        `/v1/disputes/${id}/resolve`,
        body,
      );

    it.each([
      ['outcome', { note: 'Checked.' }],
      ['outcome', { outcome: 'maybe', note: 'Checked.' }],
      ['outcome', { outcome: 'RELEASE', note: 'Checked.' }],
      ['note', { outcome: 'release' }],
      ['note', { outcome: 'release', note: '' }],
      ['note', { outcome: 'release', note: TOO_LONG }],
      ['amountFen', { outcome: 'refund', note: 'Checked.', amountFen: 100 }],
    ])('refuses %s in %j', async (field, body) => {
      expectInvalid(await resolve(body), field);
    });

    it('refuses a lessonId that is not a UUID', async () => {
      expectInvalid(await resolve({ outcome: 'release', note: 'Checked.' }, 'x'), 'lessonId');
    });
  });

  describe('reads', () => {
    const get = (path: string, query: Record<string, unknown> = {}) =>
      request(t.http)
        .get(path)
        .query(query)
        .set('Authorization', as.auditor(paid.fixture.institution.districtId));

    it.each([
      ['orderId', {}],
      ['orderId', { orderId: 'nope' }],
      ['institutionId', { orderId: '3f1c2f9e-8a4b-4c55-9d7e-2b1a7c6d5e4f', institutionId: 'x' }],
    ])('GET /v1/lessons refuses %s in %j', async (field, query) => {
      expectInvalid(await get('/v1/lessons', query), field);
    });

    it('GET /v1/lessons/:id refuses an id that is not a UUID', async () => {
      expectInvalid(await get('/v1/lessons/not-a-uuid'), 'id');
    });

    it.each([
      ['limit', { limit: 0 }],
      ['limit', { limit: 201 }],
      ['limit', { limit: 2.5 }],
      ['limit', { limit: 'ten' }],
      ['cursor', { cursor: 'garbage' }],
      ['cursor', { cursor: Buffer.from('{"at":"x","id":"y"}').toString('base64url') }],
      ['status', { status: 'open' }],
    ])('GET /v1/disputes refuses %s in %j', async (field, query) => {
      expectInvalid(await get('/v1/disputes', query), field);
    });
  });
});
