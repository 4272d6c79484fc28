/**
 * Refunds from request to payout through the outbox and the worker, and institution closure.
 * The bank is a test double whose every answer the test controls.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { LedgerService } from '../../src/ledger/ledger.service';
import { Order } from '../../src/orders/entities/order.entity';
import { ApproveSilentRefunds } from '../../src/refunds/approve-silent-refunds.usecase';
import {
  InstitutionFixture,
  createCourse,
  createInstitution,
  createOrder,
  createPaidOrder,
} from '../support/factories';
import { FakeBankGateway } from '../support/fake-bank-gateway';
import { expectInstitutionInvariant } from '../support/invariant';
import {
  LedgerTestApp,
  closeWithBooksBalanced,
  createBankDoubleTestApp,
} from '../support/ledger-app';
import { eventually } from '../support/waiting';

describe('refunds (HTTP, queue, outbox)', () => {
  let t: LedgerTestApp;
  const bank = new FakeBankGateway();
  const ledger = new LedgerService();

  beforeAll(async () => {
    t = await createBankDoubleTestApp(bank);
  });

  afterAll(() => closeWithBooksBalanced(t));

  /** A paid order of 10 × 4,000 fen with `released` confirmed lessons. */
  const paidOrder = (released = 0, school?: InstitutionFixture) =>
    createPaidOrder(t.dataSource, { released, school });

  const requestRefund = (order: Order, body: object, token = t.as.parent(order.parentId)) =>
    request(t.http).post(`/v1/orders/${order.id}/refunds`).set('Authorization', token).send(body);

  const refundStatus = async (id: string) =>
    (await t.dataSource.query('SELECT status FROM refunds WHERE id = $1', [id]))[0]
      ?.status as string;

  const paidEventually = (id: string) =>
    eventually(async () => ((await refundStatus(id)) === 'paid' ? true : undefined));

  const orderView = async (order: Order) =>
    (
      await request(t.http)
        .get(`/v1/orders/${order.id}`)
        .set('Authorization', t.as.parent(order.parentId))
        .expect(200)
    ).body;

  const custody = async (school: InstitutionFixture) =>
    (await t.dataSource.transaction((m) => ledger.balance(m, school.accounts.custody_cash)))
      .postedFen;

  it('holds the refundable remainder, pays it to the payer once the institution approves', async () => {
    const { school, order } = await paidOrder(2);
    const requested = await requestRefund(order, { reason: 'mid_course', note: 'moving' }).expect(
      202,
    );
    expect(requested.body).toMatchObject({
      status: 'requested',
      amountFen: 40_000 - 8_000,
      reason: 'mid_course',
    });
    expect(requested.body.respondBy).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(await orderView(order)).toMatchObject({
      paidFen: 40_000,
      releasedFen: 8_000,
      refundPendingFen: 32_000,
      refundableFen: 0,
    });

    const approved = await request(t.http)
      .post(`/v1/refunds/${requested.body.id}/approve`)
      .set('Authorization', t.as.institution(school.institution))
      .expect(200);
    expect(['approved', 'paying', 'paid']).toContain(approved.body.status);
    await paidEventually(requested.body.id);
    const [instruction] = await t.dataSource.query(
      'SELECT to_account_no, amount_fen::int AS amount FROM bank_instructions WHERE id = $1',
      [approved.body.instructionId],
    );
    expect(instruction).toEqual({ to_account_no: order.payerAccountNo, amount: 32_000 });
    expect(await orderView(order)).toMatchObject({
      refundedFen: 32_000,
      refundPendingFen: 0,
      refundableFen: 0,
    });
    expect(await custody(school)).toBe(40_000 - 32_000);
    await expectInstitutionInvariant(t.dataSource, school.institution.id);
  });

  it('refuses a second request while one is being decided, and nothing left to refund', async () => {
    const { order } = await paidOrder(0);
    await requestRefund(order, { reason: 'before_start' }).expect(202);
    const again = await requestRefund(order, { reason: 'before_start' }).expect(409);
    expect(again.body.code).toBe('REFUND_ALREADY_OPEN');
  });

  it('sends a rejection to an operator, who may approve it', async () => {
    const { school, order } = await paidOrder(1);
    const { body: refund } = await requestRefund(order, { reason: 'mid_course' }).expect(202);
    const rejected = await request(t.http)
      .post(`/v1/refunds/${refund.id}/reject`)
      .set('Authorization', t.as.institution(school.institution))
      .send({ reason: 'lessons were given' })
      .expect(200);
    expect(rejected.body).toMatchObject({
      status: 'rejected',
      rejectionReason: 'lessons were given',
    });
    // The institution cannot change its mind after rejecting; the operator decides.
    const late = await request(t.http)
      .post(`/v1/refunds/${refund.id}/approve`)
      .set('Authorization', t.as.institution(school.institution))
      .expect(409);
    expect(late.body.code).toBe('REFUND_NOT_PENDING_DECISION');
    await request(t.http)
      .post(`/v1/refunds/${refund.id}/decide`)
      .set('Authorization', t.as.operator(school.institution.districtId))
      .send({ outcome: 'approve', note: 'contract allows it' })
      .expect(200);
    await paidEventually(refund.id);
    expect(await custody(school)).toBe(4_000);
  });

  it('returns a declined refund’s money to the refundable balance', async () => {
    const { school, order } = await paidOrder(0);
    const { body: refund } = await requestRefund(order, { reason: 'cooling_off' }).expect(202);
    await request(t.http)
      .post(`/v1/refunds/${refund.id}/reject`)
      .set('Authorization', t.as.institution(school.institution))
      .send({ reason: 'cooling-off period is over' })
      .expect(200);
    const declined = await request(t.http)
      .post(`/v1/refunds/${refund.id}/decide`)
      .set('Authorization', t.as.operator(school.institution.districtId))
      .send({ outcome: 'decline', note: 'period over' })
      .expect(200);
    expect(declined.body.status).toBe('declined');
    expect(await orderView(order)).toMatchObject({ refundableFen: 40_000, refundPendingFen: 0 });
    // A new request is possible again.
    await requestRefund(order, { reason: 'mid_course' }).expect(202);
  });

  it('approves a request the institution leaves unanswered past its deadline', async () => {
    const { school, order } = await paidOrder(0);
    const { body: refund } = await requestRefund(order, { reason: 'before_start' }).expect(202);
    const silence = t.app.get(ApproveSilentRefunds);
    expect(await silence.run(new Date())).toBe(0);
    expect(await refundStatus(refund.id)).toBe('requested');
    const afterDeadline = new Date(Date.parse(`${refund.respondBy}T00:00:00+08:00`) + 86_400_000);
    expect(await silence.run(afterDeadline)).toBeGreaterThanOrEqual(1);
    await paidEventually(refund.id);
    const [{ approved_via }] = await t.dataSource.query(
      'SELECT approved_via FROM refunds WHERE id = $1',
      [refund.id],
    );
    expect(approved_via).toBe('silence');
    expect(await custody(school)).toBe(0);
  });

  it('lets an operator refund over-cap money at once, for part of the balance', async () => {
    const { school, order } = await paidOrder(0);
    const response = await requestRefund(
      order,
      { reason: 'over_cap', amountFen: 1_500 },
      t.as.operator(school.institution.districtId),
    ).expect(202);
    expect(response.body).toMatchObject({ approvedVia: 'operator', amountFen: 1_500 });
    await paidEventually(response.body.id);
    expect(await orderView(order)).toMatchObject({ refundedFen: 1_500, refundableFen: 38_500 });
  });

  it('keeps the money in refund_payable when the bank fails the payout', async () => {
    const { school, order } = await paidOrder(0);
    bank.failTransfers = true;
    try {
      const { body: refund } = await requestRefund(
        order,
        { reason: 'over_cap' },
        t.as.operator(school.institution.districtId),
      ).expect(202);
      await eventually(async () =>
        (await refundStatus(refund.id)) === 'failed' ? true : undefined,
      );
      const payable = await t.dataSource.transaction((m) =>
        ledger.balance(m, school.accounts.refund_payable),
      );
      expect(payable.postedFen).toBe(40_000);
      expect(await custody(school)).toBe(40_000);
    } finally {
      bank.failTransfers = false;
    }
  });

  describe('refuses', () => {
    it.each([
      [{ reason: 'closure' }, 'REFUND_REASON_NOT_ALLOWED', 422],
      [{ reason: 'mid_course', amountFen: 100 }, 'REFUND_REASON_NOT_ALLOWED', 422],
    ])('a parent sending %j', async (body, code, status) => {
      const { order } = await paidOrder(0);
      const response = await requestRefund(order, body).expect(status);
      expect(response.body.code).toBe(code);
    });

    it('before_start once lessons were given', async () => {
      const { order } = await paidOrder(1);
      const response = await requestRefund(order, { reason: 'before_start' }).expect(422);
      expect(response.body.code).toBe('REFUND_REASON_NOT_ALLOWED');
    });

    it('an unpaid order', async () => {
      const school = await createInstitution(t.dataSource);
      const course = await createCourse(t.dataSource, school.institution.id);
      const order = await createOrder(t.dataSource, { institution: school.institution, course });
      const response = await requestRefund(order, { reason: 'before_start' }).expect(409);
      expect(response.body.code).toBe('ORDER_NOT_REFUNDABLE');
    });

    it.each([
      [{ reason: 'because' }, 'reason'],
      [{}, 'reason'],
      [{ reason: 'mid_course', note: 5 }, 'note'],
      [{ reason: 'mid_course', extra: true }, 'extra'],
    ])('bad input %j → 400 and nothing written', async (body, field) => {
      const { order } = await paidOrder(0);
      const response = await requestRefund(order, body).expect(400);
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      const [{ n }] = await t.dataSource.query(
        'SELECT count(*)::int AS n FROM refunds WHERE order_id = $1',
        [order.id],
      );
      expect(n).toBe(0);
    });

    it('other principals’ orders and refunds', async () => {
      const { school, order } = await paidOrder(0);
      await requestRefund(order, { reason: 'mid_course' }, t.as.parent(`p-${randomUUID()}`)).expect(
        404,
      );
      await requestRefund(order, { reason: 'over_cap' }, t.as.operator('another-district')).expect(
        404,
      );
      await requestRefund(
        order,
        { reason: 'mid_course' },
        t.as.institution(school.institution),
      ).expect(403);
      const { body: refund } = await requestRefund(order, { reason: 'mid_course' }).expect(202);
      const other = await createInstitution(t.dataSource);
      await request(t.http)
        .post(`/v1/refunds/${refund.id}/approve`)
        .set('Authorization', t.as.institution(other.institution))
        .expect(404);
      await request(t.http)
        .get(`/v1/refunds/${refund.id}`)
        .set('Authorization', t.as.parent('someone-else'))
        .expect(404);
      await request(t.http)
        .get(`/v1/refunds/${refund.id}`)
        .set('Authorization', t.as.auditor('another-district'))
        .expect(404);
      await request(t.http)
        .get(`/v1/refunds/${refund.id}`)
        .set('Authorization', t.as.auditor(school.institution.districtId))
        .expect(200);
      await request(t.http)
        .post(`/v1/refunds/${refund.id}/decide`)
        .set('Authorization', t.as.operator(school.institution.districtId))
        .send({ outcome: 'approve', note: 'x' })
        .expect(409);
      await request(t.http)
        .post(`/v1/refunds/${refund.id}/approve`)
        .set('Authorization', t.as.parent(order.parentId))
        .expect(403);
    });
  });

  it('never lets a refund and the last lesson take the same money', async () => {
    for (let round = 0; round < 5; round++) {
      const { school, order } = await paidOrder(9);
      // The last lesson's fee is held: confirm it while the parent asks for the rest back.
      const lessonId = randomUUID();
      const holdId = await t.dataSource.transaction((m) =>
        ledger.hold(m, {
          kind: 'lesson_hold',
          reference: `lesson:${lessonId}:hold`,
          institutionId: order.institutionId,
          transfers: [
            {
              debitAccountId: order.escrowAccountId,
              creditAccountId: school.accounts.settlement_payable,
              amountFen: 4_000,
            },
          ],
        }),
      );
      const [refund, release] = await Promise.allSettled([
        requestRefund(order, { reason: 'mid_course' }),
        t.dataSource.transaction((m) =>
          ledger.postPending(m, {
            pendingId: holdId,
            kind: 'lesson_release',
            reference: `lesson:${lessonId}:release`,
          }),
        ),
      ]);
      expect(release.status).toBe('fulfilled');
      // The held fee was never refundable: the refund finds nothing left.
      expect(refund.status === 'fulfilled' && refund.value.status).toBe(409);
      const escrow = await t.dataSource.transaction((m) =>
        ledger.balance(m, order.escrowAccountId),
      );
      expect(escrow).toMatchObject({ postedFen: 0, pendingDebitsFen: 0 });
      await expectInstitutionInvariant(t.dataSource, school.institution.id);
    }
  });

  it('refunds every open order of a closed institution and empties its custody of parents’ money', async () => {
    const school = await createInstitution(t.dataSource);
    const orders: Order[] = [];
    for (let i = 0; i < 50; i++) orders.push((await paidOrder(i % 3, school)).order);
    // Settle what was released, so what stays in custody is exactly the parents' money.
    const released = (0 + 1 + 2) * 16 * 4_000 + 2 * 4_000 * 0;
    const run = await request(t.http)
      .post('/v1/settlements/run')
      .set('Authorization', t.as.operator(school.institution.districtId))
      .expect(202);
    const batch = run.body.batches.find(
      (b: { institutionId: string }) => b.institutionId === school.institution.id,
    );
    await eventually(async () =>
      (
        await t.dataSource.query('SELECT status FROM settlement_batches WHERE id = $1', [batch.id])
      )[0].status === 'paid'
        ? true
        : undefined,
    );
    expect(batch.amountFen).toBe(orders.reduce((sum, _, i) => sum + (i % 3) * 4_000, 0));
    expect(released).toBeGreaterThan(0);

    await request(t.http)
      .patch(`/v1/institutions/${school.institution.id}`)
      .set('Authorization', t.as.operator(school.institution.districtId))
      .send({ status: 'closed', reason: 'ceased trading' })
      .expect(200);
    await eventually(
      async () => {
        const [{ n }] = await t.dataSource.query(
          `SELECT count(*)::int AS n FROM refunds WHERE institution_id = $1 AND status = 'paid'`,
          [school.institution.id],
        );
        return n === 50 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(await custody(school)).toBe(0);
    await expectInstitutionInvariant(t.dataSource, school.institution.id);
    const progress = await request(t.http)
      .get(`/v1/institutions/${school.institution.id}/closure`)
      .set('Authorization', t.as.auditor(school.institution.districtId))
      .expect(200);
    expect(progress.body).toMatchObject({
      ordersRefunded: 50,
      requested: { count: 50 },
      paid: { count: 50 },
      failed: { count: 0, amountFen: 0 },
      custodyCashFen: 0,
    });
    await request(t.http)
      .get(`/v1/institutions/${school.institution.id}/closure`)
      .set('Authorization', t.as.auditor('another-district'))
      .expect(404);
  });
});
