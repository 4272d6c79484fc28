/**
 * Who may touch a lesson: every endpoint × every role × someone else's resource (another parent,
 * another institution of the same district, an institution and staff of another district).
 * Refusals are 401, 403 or 404 with a code and never carry a lesson's data; nothing changes.
 */
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createInstitution } from '../support/factories';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';
import {
  PaidOrder,
  booksOf,
  ledgerKindsOf,
  lessonRow,
  minutesAgo,
  paidOrder,
  recordLesson,
} from './support';

type Caller =
  | 'none'
  | 'parent'
  | 'otherParent'
  | 'institution'
  | 'neighbourInstitution'
  | 'otherInstitution'
  | 'auditor'
  | 'otherAuditor'
  | 'operator'
  | 'otherOperator';

interface Call {
  name: string;
  method: 'get' | 'post';
  path: () => string;
  query?: () => Record<string, string>;
  body?: () => Record<string, unknown>;
  /** Status and code for each caller that must be refused. */
  refused: Partial<Record<Caller, [number, string]>>;
}

describe('lessons: authorization', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let ours: PaidOrder;
  let theirs: PaidOrder;
  let awaiting: string;
  let disputed: string;
  let token: Record<Exclude<Caller, 'none'>, string>;

  beforeAll(async () => {
    t = await createLedgerTestApp();
    const { as } = t;
    dataSource = t.dataSource;
    ours = await paidOrder(dataSource);
    const district = ours.fixture.institution.districtId;
    const neighbour = await createInstitution(dataSource, { districtId: district });
    theirs = await paidOrder(dataSource);
    token = {
      parent: as.parent(ours.order.parentId),
      otherParent: as.parent(theirs.order.parentId),
      institution: as.institution(ours.fixture.institution),
      neighbourInstitution: as.institution(neighbour.institution),
      otherInstitution: as.institution(theirs.fixture.institution),
      auditor: as.auditor(district),
      otherAuditor: as.auditor(theirs.fixture.institution.districtId),
      operator: as.operator(district),
      otherOperator: as.operator(theirs.fixture.institution.districtId),
    };
    awaiting = (
      await recordLesson(t, token.institution, {
        orderId: ours.order.id,
        deliveredAt: minutesAgo(120),
      }).expect(201)
    ).body.id;
    disputed = (
      await recordLesson(t, token.institution, {
        orderId: ours.order.id,
        deliveredAt: minutesAgo(60),
      }).expect(201)
    ).body.id;
    await request(t.http)
      .post(`/v1/lessons/${disputed}/dispute`)
      .set('Authorization', token.parent)
      .send({ reason: 'Too short.' })
      .expect(200);
  });

  afterAll(() => closeWithBooksBalanced(t));

  const ROLE: [number, string] = [403, 'FORBIDDEN_ROLE'];
  const ORDER_404: [number, string] = [404, 'ORDER_NOT_FOUND'];
  const LESSON_404: [number, string] = [404, 'LESSON_NOT_FOUND'];
  const UNAUTHENTICATED: [number, string] = [401, 'UNAUTHENTICATED'];

  const calls: Call[] = [
    {
      name: 'recordLesson',
      method: 'post',
      path: () => '/v1/lessons',
      body: () => ({ orderId: ours.order.id, deliveredAt: minutesAgo(30) }),
      refused: {
        none: UNAUTHENTICATED,
        parent: ROLE,
        otherParent: ROLE,
        auditor: ROLE,
        operator: ROLE,
        otherAuditor: ROLE,
        otherOperator: ROLE,
        neighbourInstitution: ORDER_404,
        otherInstitution: ORDER_404,
      },
    },
    {
      name: 'confirmLesson',
      method: 'post',
      path: () => `/v1/lessons/${awaiting}/confirm`,
      body: () => ({ rating: 5 }),
      refused: {
        none: UNAUTHENTICATED,
        otherParent: LESSON_404,
        institution: ROLE,
        neighbourInstitution: ROLE,
        otherInstitution: ROLE,
        auditor: ROLE,
        otherAuditor: ROLE,
        operator: ROLE,
        otherOperator: ROLE,
      },
    },
    {
      name: 'disputeLesson',
      method: 'post',
      path: () => `/v1/lessons/${awaiting}/dispute`,
      body: () => ({ reason: 'Not delivered.' }),
      refused: {
        none: UNAUTHENTICATED,
        otherParent: LESSON_404,
        institution: ROLE,
        neighbourInstitution: ROLE,
        otherInstitution: ROLE,
        auditor: ROLE,
        otherAuditor: ROLE,
        operator: ROLE,
        otherOperator: ROLE,
      },
    },
    {
      name: 'resolveDispute',
      method: 'post',
      path: () => `/v1/disputes/${disputed}/resolve`,
      body: () => ({ outcome: 'release', note: 'Checked.' }),
      refused: {
        none: UNAUTHENTICATED,
        parent: ROLE,
        otherParent: ROLE,
        institution: ROLE,
        neighbourInstitution: ROLE,
        otherInstitution: ROLE,
        auditor: ROLE,
        otherAuditor: ROLE,
        otherOperator: LESSON_404,
      },
    },
    {
      name: 'listLessons',
      method: 'get',
      path: () => '/v1/lessons',
      query: () => ({ orderId: ours.order.id }),
      refused: {
        none: UNAUTHENTICATED,
        otherParent: ORDER_404,
        neighbourInstitution: ORDER_404,
        otherInstitution: ORDER_404,
        otherAuditor: ORDER_404,
        otherOperator: ORDER_404,
      },
    },
    {
      name: 'getLesson',
      method: 'get',
      path: () => `/v1/lessons/${awaiting}`,
      refused: {
        none: UNAUTHENTICATED,
        otherParent: LESSON_404,
        neighbourInstitution: LESSON_404,
        otherInstitution: LESSON_404,
        otherAuditor: LESSON_404,
        otherOperator: LESSON_404,
      },
    },
    {
      name: 'listDisputes',
      method: 'get',
      path: () => '/v1/disputes',
      refused: {
        none: UNAUTHENTICATED,
        parent: ROLE,
        otherParent: ROLE,
        institution: ROLE,
        neighbourInstitution: ROLE,
        otherInstitution: ROLE,
      },
    },
  ];

  const send = (call: Call, caller: Caller) => {
    const req = request(t.http)[call.method](call.path());
    if (caller !== 'none') req.set('Authorization', token[caller]);
    if (call.query) req.query(call.query());
    return call.body ? req.send(call.body()) : req;
  };

  /** Nothing the refused calls could have changed has changed. */
  const expectUntouched = async () => {
    const [{ count }] = await dataSource.query(
      'SELECT count(*)::int AS count FROM lessons WHERE order_id = ANY($1)',
      [[ours.order.id, theirs.order.id]],
    );
    expect(count).toBe(2);
    expect((await lessonRow(t, awaiting))?.status).toBe('awaiting_confirmation');
    expect((await lessonRow(t, disputed))?.status).toBe('disputed');
    expect(await ledgerKindsOf(t, awaiting)).toEqual({ lesson_hold: 1 });
    expect(await ledgerKindsOf(t, disputed)).toEqual({ lesson_hold: 1 });
    expect((await booksOf(t, ours)).payable.postedFen).toBe(0);
  };

  const refusals = calls.flatMap((call) =>
    Object.entries(call.refused).map(([caller, expected]) => ({
      call,
      caller: caller as Caller,
      expected: expected,
    })),
  );

  it.each(refusals.map((r) => [r.call.name, r.caller, r.expected[0], r]))(
    '%s by %s → %d',
    async (_name, _caller, _status, { call, caller, expected }) => {
      const response = await send(call, caller);
      expect([response.status, response.body.code]).toEqual(expected);
      // A problem document and nothing else: no lesson, no order, no amounts.
      expect(Object.keys(response.body).sort()).toEqual(
        ['code', 'detail', 'instance', 'status', 'title', 'type'].sort(),
      );
      await expectUntouched();
    },
  );

  it('shows another district nothing of ours in its disputes', async () => {
    for (const caller of ['otherAuditor', 'otherOperator'] as const) {
      const response = await send(
        calls.find((c) => c.name === 'listDisputes')!,
        caller,
      ).expect(200);
      const ids = response.body.items.map((l: { id: string }) => l.id);
      expect(ids).not.toContain(disputed);
      expect(
        response.body.items.filter((l: { orderId: string }) => l.orderId === ours.order.id),
      ).toEqual([]);
    }
    const own = await send(
      calls.find((c) => c.name === 'listDisputes')!,
      'auditor',
    ).expect(200);
    expect(own.body.items.map((l: { id: string }) => l.id)).toEqual([disputed]);
  });

  it('lets each owner read: the parent, the institution, its district', async () => {
    for (const caller of ['parent', 'institution', 'auditor', 'operator'] as const) {
      for (const name of ['listLessons', 'getLesson']) {
        await send(
          calls.find((c) => c.name === name)!,
          caller,
        ).expect(200);
      }
    }
  });
});
