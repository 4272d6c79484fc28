/** Money arriving in custody: signed, replay-proof, never dropped, never on the wrong order. */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { LedgerService } from '../../src/ledger/ledger.service';
import { Order } from '../../src/orders/entities/order.entity';
import { paymentNotification, sendBankNotification } from '../support/bank';
import {
  InstitutionFixture,
  createCourse,
  createInstitution,
  createOrder,
  tokens,
} from '../support/factories';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';

describe('bank notifications (HTTP)', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let school: InstitutionFixture;
  let neighbour: InstitutionFixture;
  const ledger = new LedgerService();

  beforeAll(async () => {
    t = await createLedgerTestApp();
    dataSource = t.dataSource;
    school = await createInstitution(dataSource);
    neighbour = await createInstitution(dataSource, { districtId: school.institution.districtId });
  });

  afterAll(() => closeWithBooksBalanced(t));

  const newOrder = async (fixture = school) => {
    const course = await createCourse(dataSource, fixture.institution.id);
    return createOrder(dataSource, { institution: fixture.institution, course });
  };
  const balances = async (fixture: InstitutionFixture, order?: Order) => {
    const ids = [fixture.accounts.custody_cash, fixture.accounts.suspense];
    if (order) ids.push(order.escrowAccountId);
    const rows = await dataSource.transaction((m) => ledger.balances(m, ids));
    const of = (id: string) => rows.find((r) => r.accountId === id)?.postedFen ?? 0;
    return {
      custody: of(fixture.accounts.custody_cash),
      suspense: of(fixture.accounts.suspense),
      escrow: order ? of(order.escrowAccountId) : 0,
    };
  };
  const reload = (order: Order) => dataSource.manager.findOneByOrFail(Order, { id: order.id });
  const paymentsFor = async (bankTxnId: string) =>
    (
      await dataSource.query('SELECT count(*)::int AS n FROM payments WHERE bank_txn_id = $1', [
        bankTxnId,
      ])
    )[0].n as number;

  it('pays a pending order whose reference, amount and custody account match', async () => {
    const order = await newOrder();
    const before = await balances(school, order);
    const notification = paymentNotification(
      school.custodyAccountNo,
      order.paymentReference,
      order.amountFen,
    );
    const response = await sendBankNotification(t.http, t.config, notification).expect(200);
    expect(response.body).toMatchObject({ outcome: 'matched', orderId: order.id });
    const after = await balances(school, order);
    expect(after.custody - before.custody).toBe(order.amountFen);
    expect(after.escrow).toBe(order.amountFen);
    expect(after.suspense).toBe(before.suspense);
    const paid = await reload(order);
    expect(paid.status).toBe('active');
    expect(paid.payerAccountNo).toBe(notification.payerAccount.accountNo);

    const view = await request(t.http)
      .get(`/v1/orders/${order.id}`)
      .set('Authorization', tokens(t.config).parent(order.parentId))
      .expect(200);
    expect(view.body).toMatchObject({
      status: 'active',
      paidFen: order.amountFen,
      refundableFen: order.amountFen,
    });
  });

  describe('money that does not match is booked to suspense and raised for operators', () => {
    it.each([
      ['an unknown reference', 'unknown_reference'],
      ['a wrong amount', 'amount_mismatch'],
      ['an order already paid', 'order_not_payable'],
    ])('%s', async (_, outcome) => {
      const order = await newOrder();
      if (outcome === 'order_not_payable') {
        await sendBankNotification(
          t.http,
          t.config,
          paymentNotification(school.custodyAccountNo, order.paymentReference, order.amountFen),
        ).expect(200);
      }
      const reference =
        outcome === 'unknown_reference' ? 'ELNOSUCHREFERENCE' : order.paymentReference;
      const amount = outcome === 'amount_mismatch' ? order.amountFen - 1 : order.amountFen;
      const before = await balances(school, order);
      const notification = paymentNotification(school.custodyAccountNo, reference, amount);
      const response = await sendBankNotification(t.http, t.config, notification).expect(200);
      expect(response.body).toMatchObject({ outcome, orderId: null });
      const after = await balances(school, order);
      expect(after.custody - before.custody).toBe(amount);
      expect(after.suspense - before.suspense).toBe(amount);
      expect(after.escrow).toBe(before.escrow);

      const exceptions = await request(t.http)
        .get('/v1/exceptions?status=open&limit=200')
        .set('Authorization', tokens(t.config).operator(school.institution.districtId))
        .expect(200);
      expect(exceptions.body.items).toContainEqual(
        expect.objectContaining({
          kind: 'unmatched_payment',
          subjectId: response.body.paymentId,
          amountFen: amount,
          institutionId: school.institution.id,
        }),
      );
    });

    it('a payment into another institution’s custody account', async () => {
      const order = await newOrder(school);
      const before = await balances(neighbour);
      const response = await sendBankNotification(
        t.http,
        t.config,
        paymentNotification(neighbour.custodyAccountNo, order.paymentReference, order.amountFen),
      ).expect(200);
      expect(response.body.outcome).toBe('wrong_account');
      expect((await balances(neighbour)).suspense - before.suspense).toBe(order.amountFen);
      expect((await reload(order)).status).toBe('pending_payment');
    });

    it('an account that is no custody account is recorded for operators', async () => {
      const notification = paymentNotification('9999000011112222', 'ELWHATEVER', 500);
      const response = await sendBankNotification(t.http, t.config, notification).expect(200);
      expect(response.body.outcome).toBe('unknown_account');
      const [row] = await dataSource.query(
        `SELECT kind, status FROM operator_exceptions WHERE subject_id = $1`,
        [response.body.paymentId],
      );
      expect(row).toEqual({ kind: 'unmatched_payment', status: 'open' });
    });
  });

  describe('replays', () => {
    it('answers a replayed event as before and books nothing new', async () => {
      const order = await newOrder();
      const body = JSON.stringify(
        paymentNotification(school.custodyAccountNo, order.paymentReference, order.amountFen),
      );
      const first = await sendBankNotification(t.http, t.config, body).expect(200);
      const before = await balances(school, order);
      const again = await sendBankNotification(t.http, t.config, body).expect(200);
      expect(again.body).toEqual(first.body);
      expect(await balances(school, order)).toEqual(before);
    });

    it('processes 10 concurrent deliveries of one event once', async () => {
      const order = await newOrder();
      const notification = paymentNotification(
        school.custodyAccountNo,
        order.paymentReference,
        order.amountFen,
      );
      const body = JSON.stringify(notification);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => sendBankNotification(t.http, t.config, body)),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(new Set(responses.map((r) => r.body.paymentId)).size).toBe(1);
      expect(await paymentsFor(notification.bankTxnId)).toBe(1);
      expect((await balances(school, order)).escrow).toBe(order.amountFen);
    });

    it('refuses a reused event id with another body', async () => {
      const order = await newOrder();
      const notification = paymentNotification(
        school.custodyAccountNo,
        order.paymentReference,
        order.amountFen,
      );
      await sendBankNotification(t.http, t.config, notification).expect(200);
      const response = await sendBankNotification(t.http, t.config, {
        ...notification,
        amountFen: 1,
      }).expect(409);
      expect(response.body.code).toBe('BANK_EVENT_ID_REUSED');
    });

    it('books a bank transaction once even under a new event id', async () => {
      const order = await newOrder();
      const notification = paymentNotification(
        school.custodyAccountNo,
        order.paymentReference,
        order.amountFen,
      );
      await sendBankNotification(t.http, t.config, notification).expect(200);
      const before = await balances(school, order);
      const response = await sendBankNotification(t.http, t.config, {
        ...notification,
        eventId: `evt_${randomUUID()}`,
      }).expect(200);
      expect(response.body.outcome).toBe('duplicate');
      expect(await balances(school, order)).toEqual(before);
    });
  });

  describe('authentication', () => {
    const valid = () => paymentNotification(school.custodyAccountNo, 'ELX', 100);

    it('refuses a wrong signature', async () => {
      const response = await sendBankNotification(t.http, t.config, valid(), {
        secret: 'not-the-bank-secret-at-all',
      }).expect(401);
      expect(response.body.code).toBe('BANK_SIGNATURE_INVALID');
    });

    it('refuses a body changed after signing', async () => {
      const body = valid();
      const timestamp = Math.floor(Date.now() / 1000);
      const { signBankPayload } = await import('../../src/bank/bank-signature');
      const signature = signBankPayload(
        t.config.bankWebhookSecret,
        timestamp,
        JSON.stringify(body),
      );
      const response = await sendBankNotification(
        t.http,
        t.config,
        { ...body, amountFen: 999_999 },
        { timestamp, signature },
      ).expect(401);
      expect(response.body.code).toBe('BANK_SIGNATURE_INVALID');
    });

    it.each([
      ['stale', -301],
      ['from the future', 301],
    ])('refuses a %s timestamp', async (_, offset) => {
      const response = await sendBankNotification(t.http, t.config, valid(), {
        timestamp: Math.floor(Date.now() / 1000) + offset,
      }).expect(401);
      expect(response.body.code).toBe('BANK_TIMESTAMP_OUT_OF_WINDOW');
    });

    it('refuses a request without the headers, even with a user token', async () => {
      const response = await request(t.http)
        .post('/v1/bank/notifications')
        .set('Authorization', tokens(t.config).operator(school.institution.districtId))
        .send(valid())
        .expect(401);
      expect(response.body.code).toBe('BANK_SIGNATURE_INVALID');
    });
  });

  describe('bad input writes nothing', () => {
    it.each([
      [{ amountFen: 10.5 }, 'amountFen'],
      [{ amountFen: '100' }, 'amountFen'],
      [{ amountFen: -100 }, 'amountFen'],
      [{ amountFen: 2 ** 60 }, 'amountFen'],
      [{ type: 'gift' }, 'type'],
      [{ occurredAt: 'yesterday' }, 'occurredAt'],
      [{ occurredAt: '2026-11-22T10:00:00' }, 'occurredAt'],
      [{ payerAccount: undefined }, 'payerAccount'],
      [
        { payerAccount: { bankCode: 'CMB', accountNo: 'abc', accountName: 'x' } },
        'payerAccount.accountNo',
      ],
      [{ extra: 1 }, 'extra'],
    ])('%j → 400 naming %s', async (override, field) => {
      const notification = paymentNotification(school.custodyAccountNo, 'ELBAD', 100, override);
      const response = await sendBankNotification(t.http, t.config, notification).expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await paymentsFor(notification.bankTxnId)).toBe(0);
    });
  });

  it('shows exceptions only to operators and auditors of their district', async () => {
    const as = tokens(t.config);
    await request(t.http)
      .get('/v1/exceptions')
      .set('Authorization', as.auditor(school.institution.districtId))
      .expect(200);
    const other = await request(t.http)
      .get('/v1/exceptions')
      .set('Authorization', as.operator('another-district'))
      .expect(200);
    expect(other.body.items).toEqual([]);
    await request(t.http)
      .get('/v1/exceptions')
      .set('Authorization', as.institution(school.institution))
      .expect(403);
    await request(t.http).get('/v1/exceptions').set('Authorization', as.parent('p-1')).expect(403);
  });
});
