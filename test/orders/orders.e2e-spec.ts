/** Purchases: placing orders under the district's rules, and reading them in scope. */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  InstitutionFixture,
  createCourse,
  createInstitution,
  createOrder,
  isoDate,
  payOrder,
  tokens,
} from '../support/factories';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';

describe('orders (HTTP)', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;
  let school: InstitutionFixture;
  let courseId: string;

  beforeAll(async () => {
    t = await createLedgerTestApp();
    ({ dataSource, as } = t);
    school = await createInstitution(dataSource);
    courseId = (await createCourse(dataSource, school.institution.id, { lessonCount: 100 })).id;
  });

  afterAll(() => closeWithBooksBalanced(t));

  const place = (parentId: string, body: object, key?: string) => {
    const call = request(t.http).post('/v1/orders').set('Authorization', as.parent(parentId));
    if (key) call.set('Idempotency-Key', key);
    return call.send(body);
  };
  const ordersOf = async (parentId: string) =>
    (
      await dataSource.query('SELECT count(*)::int AS n FROM orders WHERE parent_id = $1', [
        parentId,
      ])
    )[0].n as number;

  it('places an order awaiting payment into the custody account', async () => {
    const parent = `p-${randomUUID()}`;
    const response = await place(parent, {
      courseId,
      lessons: 20,
      bonusLessons: 2,
      studentName: '王小明',
    }).expect(201);
    expect(response.body).toMatchObject({
      status: 'pending_payment',
      amountFen: 20 * 4_000,
      lessonPriceFen: 4_000,
      lessonsPaid: 20,
      bonusLessons: 2,
      paidFen: 0,
      releasedFen: 0,
      heldFen: 0,
      refundedFen: 0,
      refundableFen: 0,
      contractVersion: 'GF-2021-2604',
      custodyAccount: { bankCode: 'ICBC', accountNo: school.custodyAccountNo },
    });
    expect(response.body.paymentReference).toMatch(/^EL[A-Z2-7]{24}$/);
  });

  it('gives every order a different payment reference', async () => {
    const parent = `p-${randomUUID()}`;
    const first = await place(parent, { courseId, lessons: 1, studentName: 'A' }).expect(201);
    const second = await place(parent, { courseId, lessons: 1, studentName: 'A' }).expect(201);
    expect(first.body.paymentReference).not.toBe(second.body.paymentReference);
  });

  describe('refuses, each with its own code', () => {
    it('more than 60 lessons, bonus lessons counted', async () => {
      const parent = `p-${randomUUID()}`;
      const response = await place(parent, {
        courseId,
        lessons: 55,
        bonusLessons: 6,
        studentName: 'A',
      }).expect(422);
      expect(response.body.code).toBe('ORDER_LESSON_CAP_EXCEEDED');
      expect(await ordersOf(parent)).toBe(0);
    });

    it('an amount over 5,000 yuan', async () => {
      const pricey = await createCourse(dataSource, school.institution.id, {
        category: 'non_subject',
        priceFen: 10_001,
        lessonCount: 60,
      });
      const response = await place(`p-${randomUUID()}`, {
        courseId: pricey.id,
        lessons: 50,
        studentName: 'A',
      }).expect(422);
      expect(response.body).toMatchObject({
        code: 'ORDER_AMOUNT_CAP_EXCEEDED',
        maxAmountFen: 500_000,
      });
    });

    it('exactly 5,000 yuan is allowed', async () => {
      const course = await createCourse(dataSource, school.institution.id, {
        category: 'non_subject',
        priceFen: 10_000,
        lessonCount: 60,
      });
      await place(`p-${randomUUID()}`, {
        courseId: course.id,
        lessons: 50,
        studentName: 'A',
      }).expect(201);
    });

    it('a span over 3 months', async () => {
      const long = await createCourse(dataSource, school.institution.id, {
        startsOn: isoDate(1),
        endsOn: isoDate(130),
      });
      const response = await place(`p-${randomUUID()}`, {
        courseId: long.id,
        lessons: 10,
        studentName: 'A',
      }).expect(422);
      expect(response.body.code).toBe('ORDER_SPAN_CAP_EXCEEDED');
    });

    it('a course that has ended', async () => {
      const over = await createCourse(dataSource, school.institution.id, {
        startsOn: isoDate(-60),
        endsOn: isoDate(-2),
      });
      const response = await place(`p-${randomUUID()}`, {
        courseId: over.id,
        lessons: 1,
        studentName: 'A',
      }).expect(422);
      expect(response.body.code).toBe('COURSE_ENDED');
    });

    it('more lessons than the course has', async () => {
      const short = await createCourse(dataSource, school.institution.id, { lessonCount: 10 });
      const response = await place(`p-${randomUUID()}`, {
        courseId: short.id,
        lessons: 10,
        bonusLessons: 1,
        studentName: 'A',
      }).expect(422);
      expect(response.body.code).toBe('ORDER_EXCEEDS_COURSE');
    });

    it('a renewal while more than 20 lessons remain, and accepts it at 20', async () => {
      const parent = `p-${randomUUID()}`;
      const course = await createCourse(dataSource, school.institution.id, { lessonCount: 100 });
      const first = await createOrder(
        dataSource,
        { institution: school.institution, course },
        { parentId: parent, lessonsPaid: 21 },
      );
      await payOrder(dataSource, school, first);
      const refused = await place(parent, {
        courseId: course.id,
        lessons: 5,
        studentName: 'A',
      }).expect(422);
      expect(refused.body).toMatchObject({ code: 'RENEWAL_TOO_EARLY', remainingLessons: 21 });
      // One lesson delivered: 20 remain, so the renewal is allowed.
      await dataSource.query(
        `INSERT INTO lessons (order_id, institution_id, sequence, delivered_at, fee_fen, status, recorded_by)
         VALUES ($1, $2, 1, now(), 0, 'awaiting_confirmation', 'test')`,
        [first.id, school.institution.id],
      );
      await place(parent, { courseId: course.id, lessons: 5, studentName: 'A' }).expect(201);
    });

    it('lets only one of two concurrent early renewals through', async () => {
      const parent = `p-${randomUUID()}`;
      const course = await createCourse(dataSource, school.institution.id, { lessonCount: 100 });
      const responses = await Promise.all(
        [21, 21].map((lessons) =>
          place(parent, { courseId: course.id, lessons, studentName: 'A' }),
        ),
      );
      expect(responses.map((r) => r.status).sort()).toEqual([201, 422]);
    });

    it.each(['suspended', 'closed'] as const)('an institution that is %s', async (status) => {
      const other = await createInstitution(dataSource, { status });
      const course = await createCourse(dataSource, other.institution.id);
      const response = await place(`p-${randomUUID()}`, {
        courseId: course.id,
        lessons: 1,
        studentName: 'A',
      }).expect(409);
      expect(response.body.code).toBe('INSTITUTION_NOT_ACTIVE');
    });

    it('an unknown course', async () => {
      const response = await place(`p-${randomUUID()}`, {
        courseId: randomUUID(),
        lessons: 1,
        studentName: 'A',
      }).expect(404);
      expect(response.body.code).toBe('COURSE_NOT_FOUND');
    });
  });

  describe('bad input writes nothing', () => {
    it.each<[Record<string, unknown>, string]>([
      [{ courseId: 'nope', lessons: 1, studentName: 'A' }, 'courseId'],
      [{ lessons: 1, studentName: 'A' }, 'courseId'],
      [{ courseId: 'C', lessons: 1.5, studentName: 'A' }, 'lessons'],
      [{ courseId: 'C', lessons: '3', studentName: 'A' }, 'lessons'],
      [{ courseId: 'C', lessons: -1, studentName: 'A' }, 'lessons'],
      [{ courseId: 'C', lessons: 0, studentName: 'A' }, 'lessons'],
      [{ courseId: 'C', lessons: 1e15, studentName: 'A' }, 'lessons'],
      [{ courseId: 'C', lessons: 1, bonusLessons: -2, studentName: 'A' }, 'bonusLessons'],
      [{ courseId: 'C', lessons: 1, studentName: '   ' }, 'studentName'],
      [{ courseId: 'C', lessons: 1, studentName: 'x'.repeat(101) }, 'studentName'],
      [{ courseId: 'C', lessons: 1, studentName: 'A', amountFen: 1 }, 'amountFen'],
      [{ courseId: 'C', lessons: 1, studentName: 'A', parentId: 'someone-else' }, 'parentId'],
    ])('%j → 400 naming %s', async (body, field) => {
      const parent = `p-${randomUUID()}`;
      const payload = { ...body, courseId: body.courseId === 'C' ? courseId : body.courseId };
      const response = await place(parent, payload).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await ordersOf(parent)).toBe(0);
    });

    it('malformed JSON → 400', async () => {
      const response = await request(t.http)
        .post('/v1/orders')
        .set('Authorization', as.parent('p-x'))
        .set('Content-Type', 'application/json')
        .send('{"courseId":')
        .expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    });
  });

  it('places one order for one Idempotency-Key', async () => {
    const parent = `p-${randomUUID()}`;
    const key = randomUUID();
    const body = { courseId, lessons: 3, studentName: 'A' };
    const responses = await Promise.all([1, 2, 3, 4, 5].map(() => place(parent, body, key)));
    expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(await ordersOf(parent)).toBe(1);
  });

  describe('reading, scoped to the principal', () => {
    let orderId: string;
    let parent: string;

    beforeAll(async () => {
      parent = `p-${randomUUID()}`;
      orderId = (await place(parent, { courseId, lessons: 4, studentName: 'A' }).expect(201)).body
        .id;
    });

    it.each([
      ['the parent who placed it', () => as.parent(parent)],
      ['its institution', () => as.institution(school.institution)],
      ['an auditor of its district', () => as.auditor(school.institution.districtId)],
      ['an operator of its district', () => as.operator(school.institution.districtId)],
    ])('%s sees it', async (_, token) => {
      const response = await request(t.http)
        .get(`/v1/orders/${orderId}`)
        .set('Authorization', token())
        .expect(200);
      expect(response.body).toMatchObject({ id: orderId, lessonsPaid: 4 });
    });

    it.each([
      ['another parent', () => as.parent(`p-${randomUUID()}`)],
      ['another institution', () => as.institution({ ...school.institution, id: randomUUID() })],
      ['an auditor of another district', () => as.auditor('other-district')],
      ['an operator of another district', () => as.operator('other-district')],
    ])('%s gets 404, never the order', async (_, token) => {
      const response = await request(t.http)
        .get(`/v1/orders/${orderId}`)
        .set('Authorization', token())
        .expect(404);
      expect(response.body.code).toBe('ORDER_NOT_FOUND');
      expect(JSON.stringify(response.body)).not.toContain(school.custodyAccountNo);
    });

    it('refuses a malformed id with 400', async () => {
      const response = await request(t.http)
        .get('/v1/orders/not-a-uuid')
        .set('Authorization', as.parent(parent))
        .expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    });

    it('lists only the principal’s orders, page by page', async () => {
      const lister = `p-${randomUUID()}`;
      for (let i = 0; i < 3; i++) {
        await place(lister, { courseId, lessons: 1, studentName: `S${i}` }).expect(201);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: request.Response = await request(t.http)
          .get('/v1/orders')
          .query(cursor ? { limit: 2, cursor } : { limit: 2 })
          .set('Authorization', as.parent(lister))
          .expect(200);
        seen.push(...page.body.items.map((o: { studentName: string }) => o.studentName));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(['S0', 'S1', 'S2']);
    });

    it('refuses a forged cursor and an out-of-range limit', async () => {
      await request(t.http)
        .get('/v1/orders?cursor=forged')
        .set('Authorization', as.parent(parent))
        .expect(400);
      await request(t.http)
        .get('/v1/orders?limit=1000')
        .set('Authorization', as.parent(parent))
        .expect(400);
    });
  });

  it('only parents place orders', async () => {
    for (const token of [
      as.institution(school.institution),
      as.auditor(school.institution.districtId),
      as.operator(school.institution.districtId),
    ]) {
      const response = await request(t.http)
        .post('/v1/orders')
        .set('Authorization', token)
        .send({ courseId, lessons: 1, studentName: 'A' })
        .expect(403);
      expect(response.body.code).toBe('FORBIDDEN_ROLE');
    }
  });
});
