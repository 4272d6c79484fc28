/**
 * The sandbox bank against the real service, both ways: its notifications pass the service's
 * signature guard and DTO validation, a parent's payment activates the order, a duplicated
 * notification is absorbed by the service's event-id idempotency, and a settlement goes out
 * through HttpBankGateway and the bull worker and comes back as the bank's notification.
 */
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { NotificationView } from '../../src/bank/sandbox/sandbox-book';
import { Order } from '../../src/orders/entities/order.entity';
import { LedgerTestApp } from '../support/ledger-app';
import {
  createCourse,
  createInstitution,
  createOrder,
  createReleasedLesson,
} from '../support/factories';
import {
  ServiceWithSandbox,
  TestSandbox,
  payIntoCustody,
  startServiceWithSandbox,
  waitUntil,
} from './sandbox-harness';

describe('sandbox bank → service', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let sandbox: TestSandbox;
  let service: ServiceWithSandbox;

  beforeAll(async () => {
    service = await startServiceWithSandbox();
    ({ t, sandbox } = service);
    dataSource = t.dataSource;
  });

  afterAll(() => service?.close());

  /** An institution of its own with one order awaiting payment. */
  const unpaidOrder = async () => {
    const school = await createInstitution(dataSource);
    const course = await createCourse(dataSource, school.institution.id);
    return {
      school,
      order: await createOrder(dataSource, { institution: school.institution, course }),
    };
  };

  const notificationOf = async (accountNo: string) =>
    (await request(sandbox.bank.url).get(`/sandbox/notifications?accountNo=${accountNo}`)).body
      .items[0] as NotificationView | undefined;

  it('a parent paying the order reference activates the order', async () => {
    const { school, order } = await unpaidOrder();
    await request(sandbox.bank.url)
      .put(`/sandbox/accounts/${school.custodyAccountNo}`)
      .send({ bankCode: 'ICBC', accountName: `${school.institution.name} custody` })
      .expect(200);

    const payer = { bankCode: 'CMB', accountNo: '6214830212345678', accountName: '王芳' };
    await payIntoCustody(sandbox, school.custodyAccountNo, order, payer);

    await waitUntil(
      async () => (await notificationOf(school.custodyAccountNo))?.status === 'delivered',
    );
    const paid = await dataSource.manager.findOneByOrFail(Order, { id: order.id });
    expect(paid.status).toBe('active');
    expect(paid.payerAccountNo).toBe(payer.accountNo);
  });

  it('a notification delivered twice is booked once', async () => {
    const { school, order } = await unpaidOrder();
    await request(sandbox.bank.url)
      .post('/sandbox/faults')
      .send({ accountNo: school.custodyAccountNo, duplicateNotifications: 1 })
      .expect(200);
    const payment = await payIntoCustody(sandbox, school.custodyAccountNo, order, {
      bankCode: 'CMB',
      accountNo: '6214830299990000',
      accountName: 'Li Lei',
    });

    await waitUntil(
      async () => (await notificationOf(school.custodyAccountNo))?.status === 'delivered',
    );
    expect(await notificationOf(school.custodyAccountNo)).toMatchObject({
      copies: 2,
      deliveredCount: 2,
      lastStatus: 200,
    });
    const [{ n }] = await dataSource.query(
      'SELECT count(*)::int AS n FROM payments WHERE bank_txn_id = $1',
      [payment.bankTxnId],
    );
    expect(n).toBe(1);
  });

  it('transfer results reach the service (unknown instructions become exceptions, 200)', async () => {
    const { school, order } = await unpaidOrder();
    await payIntoCustody(sandbox, school.custodyAccountNo, order, {
      bankCode: 'CMB',
      accountNo: '6214830288880000',
      accountName: 'Han Mei',
    });
    const transfer = await request(sandbox.bank.url)
      .post('/bank/transfers')
      .send({
        instructionId: `SET${Date.now()}`,
        endToEndId: `SET${Date.now()}`,
        fromAccountNo: school.custodyAccountNo,
        to: { bankCode: 'BOC', accountNo: school.settlementAccountNo, accountName: 'School' },
        amountFen: 100,
        purpose: 'settlement',
      })
      .expect(201);
    expect(transfer.body.state).toBe('succeeded');
    await waitUntil(async () => {
      const items = (
        await request(sandbox.bank.url).get(
          `/sandbox/notifications?accountNo=${school.custodyAccountNo}`,
        )
      ).body.items as Array<{ status: string }>;
      return items.length === 2 && items.every((item) => item.status === 'delivered');
    });
  });

  it('a settlement is paid by the sandbox bank, through the worker and back by notification', async () => {
    const { school, order } = await unpaidOrder();
    await payIntoCustody(sandbox, school.custodyAccountNo, order, {
      bankCode: 'CMB',
      accountNo: '6214830277770000',
      accountName: 'Zhang Wei',
    });
    await waitUntil(
      async () =>
        (await dataSource.manager.findOneByOrFail(Order, { id: order.id })).status === 'active',
    );
    for (const sequence of [1, 2, 3]) {
      await createReleasedLesson(dataSource, school, order, sequence);
    }
    // The bank is down for the first two calls: the worker retries.
    await request(sandbox.bank.url)
      .post('/sandbox/faults')
      .send({ accountNo: school.custodyAccountNo, failNext: 2 })
      .expect(200);

    const run = await request(t.http)
      .post('/v1/settlements/run')
      .set('Authorization', t.as.operator(school.institution.districtId))
      .expect(202);
    const batch = (run.body.batches as Array<{ id: string; institutionId: string }>).find(
      (b) => b.institutionId === school.institution.id,
    )!;
    const fees = 3 * order.lessonPriceFen;
    await waitUntil(async () => {
      const [row] = await dataSource.query('SELECT status FROM settlement_batches WHERE id = $1', [
        batch.id,
      ]);
      return row?.status === 'paid';
    }, 15_000);

    const custody = await request(sandbox.bank.url)
      .get(`/sandbox/accounts/${school.custodyAccountNo}`)
      .expect(200);
    expect(custody.body.balanceFen).toBe(order.amountFen - fees);
    const settlement = await request(sandbox.bank.url)
      .get(`/sandbox/accounts/${school.settlementAccountNo}`)
      .expect(200);
    expect(settlement.body.balanceFen).toBe(fees);
    const [debit] = custody.body.movements as Array<{ direction: string; endToEndId: string }>;
    expect(debit.direction).toBe('debit');
    const [instruction] = await dataSource.query(
      'SELECT id, status, bank_txn_id, attempts FROM bank_instructions WHERE id = $1',
      [debit.endToEndId],
    );
    expect(instruction).toMatchObject({ status: 'succeeded' });
    // Two 503s, then the transfer.
    expect(instruction.attempts).toBeGreaterThanOrEqual(3);
    const faults = await request(sandbox.bank.url).get('/sandbox/faults').expect(200);
    expect(faults.body.items).toContainEqual(
      expect.objectContaining({ accountNo: school.custodyAccountNo, failNext: 0 }),
    );
    await waitUntil(
      async () => (await notificationOf(school.custodyAccountNo))?.status === 'delivered',
    );
    expect(await notificationOf(school.custodyAccountNo)).toMatchObject({
      type: 'transfer_succeeded',
      body: { reference: instruction.id, bankTxnId: instruction.bank_txn_id, amountFen: fees },
    });
  });
});
