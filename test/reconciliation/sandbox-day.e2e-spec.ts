/**
 * A full day against the sandbox bank: parents pay through the bank, a settlement goes out through
 * HttpBankGateway and the worker, and the bank's own statement of the day, fetched through the
 * gateway as the daily job does, reconciles to zero difference and closes the day. The bank's CSV
 * of the same day is the same statement.
 */
import request from 'supertest';
import { DataSource } from 'typeorm';
import { HttpBankGateway } from '../../src/bank/http-bank.gateway';
import { Order } from '../../src/orders/entities/order.entity';
import { FetchStatements } from '../../src/reconciliation/fetch-statements.usecase';
import {
  ServiceWithSandbox,
  TestSandbox,
  payIntoCustody,
  startServiceWithSandbox,
  waitUntil,
} from '../sandbox-bank/sandbox-harness';
import { LedgerTestApp } from '../support/ledger-app';
import {
  createCourse,
  createInstitution,
  createOrder,
  createReleasedLesson,
} from '../support/factories';
import { expectInstitutionInvariant } from '../support/invariant';
import { eventually } from '../support/waiting';
import { today, uploadAsBank } from './support';

describe('a day with the sandbox bank reconciles to zero', () => {
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

  it('pays, settles, fetches the statement and closes the day', async () => {
    const school = await createInstitution(dataSource);
    const districtId = school.institution.districtId;
    await request(sandbox.bank.url)
      .put(`/sandbox/accounts/${school.custodyAccountNo}`)
      .send({ bankCode: 'ICBC', accountName: `${school.institution.name} custody` })
      .expect(200);
    const course = await createCourse(dataSource, school.institution.id);
    const orders: Order[] = [];
    for (const payer of ['6214830277770001', '6214830277770002', '6214830277770003']) {
      const order = await createOrder(dataSource, { institution: school.institution, course });
      await payIntoCustody(sandbox, school.custodyAccountNo, order, {
        bankCode: 'CMB',
        accountNo: payer,
        accountName: '张伟',
      });
      orders.push(order);
    }
    await waitUntil(async () => {
      const rows: { status: string }[] = await dataSource.query(
        'SELECT status FROM orders WHERE id = ANY($1)',
        [orders.map((o) => o.id)],
      );
      return rows.every((row) => row.status === 'active');
    }, 15_000);
    const paid = await dataSource.manager.findOneByOrFail(Order, { id: orders[0].id });
    for (const sequence of [1, 2, 3, 4]) {
      await createReleasedLesson(dataSource, school, paid, sequence);
    }
    const run = await request(t.http)
      .post('/v1/settlements/run')
      .set('Authorization', t.as.operator(districtId))
      .expect(202);
    const batch = (run.body.batches as { id: string; institutionId: string }[]).find(
      (b) => b.institutionId === school.institution.id,
    )!;
    await waitUntil(async () => {
      const [row] = await dataSource.query('SELECT status FROM settlement_batches WHERE id = $1', [
        batch.id,
      ]);
      return row?.status === 'paid';
    }, 15_000);

    const fetched = await t.app
      .get(FetchStatements)
      .execute({ day: today(), accountNos: [school.custodyAccountNo] });
    expect(fetched).toMatchObject({ refused: [], unavailable: [] });
    const [{ statementId }] = fetched.imported;
    const report = await eventually(async () => {
      const response = await request(t.http)
        .get(`/v1/reconciliation/statements/${statementId}`)
        .set('Authorization', t.as.auditor(districtId))
        .expect(200);
      return response.body.status === 'pending' ? undefined : response.body;
    });
    const custody = await request(sandbox.bank.url)
      .get(`/sandbox/accounts/${school.custodyAccountNo}`)
      .expect(200);
    expect(report).toMatchObject({
      status: 'reconciled',
      format: 'camt053',
      formatVersion: 'camt.053.001.08',
      source: 'job',
      lineCount: 4,
      matched: { count: 4, manualCount: 0 },
      bankOnly: { count: 0 },
      ledgerOnly: { count: 0 },
      mismatched: { count: 0 },
      openExceptions: 0,
      closingBalanceFen: custody.body.balanceFen,
      balance: {
        date: today(),
        status: 'closed',
        bankClosingFen: custody.body.balanceFen,
        ledgerBalanceFen: custody.body.balanceFen,
        inTransitFen: 0,
        differenceFen: 0,
      },
    });

    // The payout's line carries the instruction id as the bank echoes it: 32 hex digits, within
    // ISO 20022's 35 characters; it is matched to its instruction by that reference.
    const [payout] = await dataSource.query(
      `SELECT l.end_to_end_id, l.match_rule, l.instruction_id::text AS instruction_id
       FROM reconciliation_lines l WHERE l.statement_id = $1 AND l.direction = 'debit'`,
      [statementId],
    );
    const [{ instruction_id: instructionId }] = await dataSource.query(
      'SELECT instruction_id::text FROM settlement_batches WHERE id = $1',
      [batch.id],
    );
    expect(payout).toEqual({
      end_to_end_id: instructionId.replace(/-/g, ''),
      match_rule: 'instruction_ref',
      instruction_id: instructionId,
    });

    // The bank's CSV of the same day, delivered signed: the same statement.
    const gateway = new HttpBankGateway({ apiUrl: sandbox.bank.url, timeoutMs: 5_000 });
    const csv = await gateway.fetchStatement(school.custodyAccountNo, today(), today(), 'csv');
    const delivered = await uploadAsBank(t.http, t.config, csv, {
      type: 'text/csv; charset=utf-8',
      query: `?accountNo=${school.custodyAccountNo}&from=${today()}&to=${today()}`,
    }).expect(202);
    expect(delivered.body).toMatchObject({ statementId, duplicate: true });
    await expectInstitutionInvariant(dataSource, school.institution.id);
  });
});
