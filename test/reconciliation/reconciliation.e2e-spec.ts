/**
 * Bank reconciliation over HTTP, the bull worker and PostgreSQL: statements imported from the bank
 * (HMAC) or an operator (JWT), matched against the ledger movements that the real notification
 * and settlement paths recorded, with each injected fault giving its documented outcome.
 */
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  BANK_GATEWAY,
  BankGateway,
  TransferInstruction,
  endToEndIdOf,
} from '../../src/bank/bank-gateway';
import { JSON_BODY_LIMIT_BYTES } from '../../src/app.setup';
import { LedgerService } from '../../src/ledger/ledger.service';
import { FetchStatements } from '../../src/reconciliation/fetch-statements.usecase';
import { MatchAccount } from '../../src/reconciliation/match-account.usecase';
import {
  DEFAULT_RECONCILIATION_OPTIONS,
  RECONCILIATION_OPTIONS,
} from '../../src/reconciliation/reconciliation.constants';
import { ReconciliationModule } from '../../src/reconciliation/reconciliation.module';
import { paymentNotification, sendBankNotification } from '../support/bank';
import {
  InstitutionFixture,
  createCourse,
  createInstitution,
  createOrder,
  tokens,
} from '../support/factories';
import { FakeBankGateway } from '../support/fake-bank-gateway';
import { expectInstitutionInvariant } from '../support/invariant';
import { eventually } from '../support/waiting';
import { LedgerTestApp, closeWithBooksBalanced, createLedgerTestApp } from '../support/ledger-app';
import {
  Movements,
  bankCsv,
  bankRef,
  camt053,
  daysAgo,
  linesOf,
  schoolWithMovements,
  today,
  uploadAsBank,
  uploadAsOperator,
} from './support';

/** The fake bank for transfers, with statements the test writes. */
class StatementBank implements BankGateway {
  readonly statements = new Map<string, string>();
  private readonly transfers = new FakeBankGateway();

  submitTransfer(instruction: TransferInstruction) {
    return this.transfers.submitTransfer(instruction);
  }

  getTransfer(instructionId: string) {
    return this.transfers.getTransfer(instructionId);
  }

  fetchStatement(accountNo: string, from: string): Promise<Buffer> {
    const statement = this.statements.get(`${accountNo}:${from}`);
    return statement === undefined
      ? Promise.reject(new Error(`no statement of ${accountNo} for ${from}`))
      : Promise.resolve(Buffer.from(statement));
  }
}

const MAX_BODY = 2 * 1024 * 1024;

describe('bank reconciliation (HTTP, worker, ledger)', () => {
  let t: LedgerTestApp;
  let dataSource: DataSource;
  let as: ReturnType<typeof tokens>;
  const bank = new StatementBank();
  const ledger = new LedgerService();

  beforeAll(async () => {
    t = await createLedgerTestApp(
      { QUEUE_BACKOFF_MS: '20' },
      [ReconciliationModule],
      [
        { provide: BANK_GATEWAY, useValue: bank },
        {
          provide: RECONCILIATION_OPTIONS,
          useValue: { ...DEFAULT_RECONCILIATION_OPTIONS, maxBodyBytes: MAX_BODY },
        },
      ],
    );
    ({ dataSource, as } = t);
  });

  afterAll(() => closeWithBooksBalanced(t));

  const district = (m: { school: InstitutionFixture } | InstitutionFixture) =>
    ('school' in m ? m.school : m).institution.districtId;

  const report = (statementId: string, districtId: string) =>
    request(t.http)
      .get(`/v1/reconciliation/statements/${statementId}`)
      .set('Authorization', as.auditor(districtId))
      .expect(200);

  /** The report once the worker has matched the statement. */
  const matchedReport = (statementId: string, districtId: string) =>
    eventually(async () => {
      const response = await report(statementId, districtId);
      return response.body.status === 'pending' ? undefined : response.body;
    });

  const exceptionsOf = async (districtId: string, query = '') =>
    (
      await request(t.http)
        .get(`/v1/reconciliation/exceptions?limit=200${query}`)
        .set('Authorization', as.operator(districtId))
        .expect(200)
    ).body.items;

  const statementCount = async (accountNo: string) =>
    (
      await dataSource.query(
        'SELECT count(*)::int AS n FROM reconciliation_statements WHERE account_no = $1',
        [accountNo],
      )
    )[0].n as number;

  const custody = async (m: Movements) =>
    (
      await dataSource.transaction((manager) =>
        ledger.balance(manager, m.school.accounts.custody_cash),
      )
    ).postedFen;

  /** The movements' statement of today, imported by an operator; its matched report. */
  async function importToday(m: Movements, entries = linesOf(m), openingFen = 0) {
    const response = await uploadAsOperator(
      t.http,
      t.config,
      district(m),
      camt053({ accountNo: m.school.custodyAccountNo, from: today(), openingFen, entries }),
    ).expect(202);
    return {
      receipt: response.body,
      report: await matchedReport(response.body.statementId, district(m)),
    };
  }

  it('reconciles a day to zero difference and closes it; the same statement again adds nothing', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 2, settle: 2 });
    const xml = camt053({
      accountNo: m.school.custodyAccountNo,
      from: today(),
      openingFen: 0,
      entries: linesOf(m),
    });
    const first = await uploadAsOperator(t.http, t.config, district(m), xml).expect(202);
    expect(first.body).toMatchObject({ duplicate: false, lineCount: 3, newLineCount: 3 });
    const body = await matchedReport(first.body.statementId, district(m));
    const paid = m.payments.reduce((sum, p) => sum + p.amountFen, 0);
    expect(body).toMatchObject({
      status: 'reconciled',
      format: 'camt053',
      source: 'operator',
      matched: { count: 3, sumFen: paid + m.settlement!.amountFen, manualCount: 0 },
      bankOnly: { count: 0, sumFen: 0 },
      ledgerOnly: { count: 0, sumFen: 0 },
      mismatched: { count: 0, sumFen: 0 },
      openExceptions: 0,
      balance: {
        date: today(),
        status: 'closed',
        bankClosingFen: paid - m.settlement!.amountFen,
        ledgerBalanceFen: await custody(m),
        inTransitFen: 0,
        differenceFen: 0,
      },
    });
    const rules = await dataSource.query(
      `SELECT match_rule, count(*)::int AS n FROM reconciliation_lines
       WHERE statement_id = $1 GROUP BY match_rule ORDER BY match_rule`,
      [first.body.statementId],
    );
    expect(rules).toEqual([
      { match_rule: 'instruction_ref', n: 1 },
      { match_rule: 'payment_ref', n: 2 },
    ]);

    // Delivered again, by the bank this time, and as a CSV: the same statement, nothing added.
    const again = await uploadAsBank(t.http, t.config, xml).expect(202);
    expect(again.body).toMatchObject({ statementId: first.body.statementId, duplicate: true });
    const asCsv = await uploadAsOperator(
      t.http,
      t.config,
      district(m),
      bankCsv({
        accountNo: m.school.custodyAccountNo,
        from: today(),
        openingFen: 0,
        entries: linesOf(m),
      }),
      { type: 'text/csv', query: `?accountNo=${m.school.custodyAccountNo}` },
    ).expect(202);
    expect(asCsv.body).toMatchObject({ statementId: first.body.statementId, duplicate: true });
    expect(await statementCount(m.school.custodyAccountNo)).toBe(1);

    const days = await request(t.http)
      .get(`/v1/reconciliation/days?date=${today()}&limit=200`)
      .set('Authorization', as.auditor(district(m)))
      .expect(200);
    expect(days.body.items).toEqual([
      expect.objectContaining({
        accountNo: m.school.custodyAccountNo,
        status: 'closed',
        differenceFen: 0,
        statementId: first.body.statementId,
      }),
    ]);
    const yesterday = await request(t.http)
      .get(`/v1/reconciliation/days?date=${daysAgo(1)}`)
      .set('Authorization', as.auditor(district(m)))
      .expect(200);
    expect(yesterday.body.items[0]).toMatchObject({ status: 'missing', statementId: null });
  });

  it('an overlapping statement adds only what is new', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 2 });
    const [first, second] = linesOf(m);
    const one = await uploadAsOperator(
      t.http,
      t.config,
      district(m),
      camt053({
        accountNo: m.school.custodyAccountNo,
        from: daysAgo(1),
        openingFen: 0,
        entries: [],
      }),
    ).expect(202);
    const two = await uploadAsOperator(
      t.http,
      t.config,
      district(m),
      camt053({
        accountNo: m.school.custodyAccountNo,
        from: daysAgo(1),
        to: today(),
        openingFen: 0,
        entries: [first, second],
      }),
    ).expect(202);
    expect(two.body).toMatchObject({ duplicate: false, lineCount: 2, newLineCount: 2 });
    // Today alone, with both lines: another statement, overlapping, that adds no line.
    const three = await uploadAsOperator(
      t.http,
      t.config,
      district(m),
      camt053({
        accountNo: m.school.custodyAccountNo,
        from: today(),
        openingFen: 0,
        entries: [second, first],
      }),
    ).expect(202);
    expect(three.body).toMatchObject({ duplicate: false, lineCount: 2, newLineCount: 0 });
    expect(new Set([one, two, three].map((r) => r.body.statementId)).size).toBe(3);
    const [{ n }] = await dataSource.query(
      'SELECT count(*)::int AS n FROM reconciliation_lines WHERE account_no = $1',
      [m.school.custodyAccountNo],
    );
    expect(n).toBe(2);
    const body = await matchedReport(two.body.statementId, district(m));
    expect(body).toMatchObject({ status: 'reconciled', matched: { count: 2 } });
    expect(body.days.map((d: { date: string; status: string }) => [d.date, d.status])).toEqual([
      [daysAgo(1), 'closed'],
      [today(), 'closed'],
    ]);
  });

  it('a missing bank line: the ledger movement is ledger-only and the day stays open', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 2 });
    const [kept, missing] = linesOf(m);
    const { report: body } = await importToday(m, [kept]);
    expect(body).toMatchObject({
      status: 'unreconciled',
      matched: { count: 1 },
      ledgerOnly: { count: 1, sumFen: missing.amountFen },
      balance: { status: 'open', differenceFen: -missing.amountFen, openExceptions: 1 },
    });
    const [exception] = await exceptionsOf(district(m), `&statementId=${body.id}`);
    expect(exception).toMatchObject({
      kind: 'ledger_only',
      status: 'open',
      direction: 'credit',
      amountFen: missing.amountFen,
      line: null,
      details: expect.objectContaining({ bankTxnId: missing.ref }),
    });
  });

  it('an extra bank line is bank-only until two distinct operators book it to suspense', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 1 });
    const stranger = {
      ref: bankRef(),
      direction: 'credit' as const,
      amountFen: 12_345,
      counterpartyAccount: '6214830200001111',
      counterpartyName: '无名氏',
      remittance: 'no reference',
    };
    const { report: body } = await importToday(m, [...linesOf(m), stranger]);
    expect(body).toMatchObject({
      status: 'unreconciled',
      bankOnly: { count: 1, sumFen: 12_345 },
      balance: { status: 'open', differenceFen: 12_345 },
    });
    const [exception] = await exceptionsOf(district(m), '&kind=bank_only');
    expect(exception).toMatchObject({
      kind: 'bank_only',
      amountFen: 12_345,
      line: expect.objectContaining({ bankRef: stranger.ref, counterpartyName: '无名氏' }),
      proposal: null,
    });

    const book = (operator: string, reason = 'unknown payer, confirmed with the bank') =>
      request(t.http)
        .post(`/v1/reconciliation/exceptions/${exception.id}/book-to-suspense`)
        .set('Authorization', as.operator(district(m), operator))
        .send({ reason });
    await request(t.http)
      .post(`/v1/reconciliation/exceptions/${exception.id}/book-to-suspense`)
      .set('Authorization', as.auditor(district(m)))
      .send({ reason: 'auditors never write money' })
      .expect(403);
    await request(t.http)
      .post(`/v1/reconciliation/exceptions/${exception.id}/book-to-suspense`)
      .set('Authorization', as.operator('another-district', 'op-9'))
      .send({ reason: 'not mine' })
      .expect(404);

    const proposed = await book('op-1').expect(200);
    expect(proposed.body).toMatchObject({
      status: 'proposed',
      proposedBy: 'op-1',
      approvedBy: null,
    });
    const twice = await book('op-1').expect(409);
    expect(twice.body.code).toBe('SECOND_OPERATOR_REQUIRED');
    const custodyBefore = await custody(m);

    const approved = await book('op-2', 'approved')
      .set('Idempotency-Key', `approve-${exception.id}`)
      .expect(200);
    expect(approved.body).toMatchObject({
      status: 'resolved',
      proposedBy: 'op-1',
      approvedBy: 'op-2',
      amountFen: 12_345,
    });
    // A retry of the approval returns the first answer and books nothing more.
    const retried = await book('op-2', 'approved')
      .set('Idempotency-Key', `approve-${exception.id}`)
      .expect(200);
    expect(retried.body).toEqual(approved.body);
    const late = await book('op-3').expect(409);
    expect(late.body.code).toBe('EXCEPTION_ALREADY_RESOLVED');

    const [tx] = await dataSource.query(
      'SELECT kind, manual, metadata FROM ledger_transactions WHERE id = $1',
      [approved.body.ledgerTransactionId],
    );
    expect(tx).toMatchObject({
      kind: 'manual_adjustment',
      manual: true,
      metadata: expect.objectContaining({
        proposedBy: 'op-1',
        approvedBy: 'op-2',
        bankRef: stranger.ref,
      }),
    });
    expect(await custody(m)).toBe(custodyBefore + 12_345);
    const suspense = await dataSource.transaction((manager) =>
      ledger.balance(manager, m.school.accounts.suspense),
    );
    expect(suspense.postedFen).toBe(12_345);
    const after = (await report(body.id, district(m))).body;
    expect(after).toMatchObject({
      status: 'reconciled',
      matched: { count: 2, manualCount: 1 },
      bankOnly: { count: 0 },
      balance: { status: 'closed', differenceFen: 0 },
    });
    await expectInstitutionInvariant(dataSource, m.school.institution.id);
  });

  it('only bank-only money can be booked to suspense', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 2 });
    const [kept] = linesOf(m);
    await importToday(m, [kept]);
    const [ledgerOnly] = await exceptionsOf(district(m), '&kind=ledger_only');
    const response = await request(t.http)
      .post(`/v1/reconciliation/exceptions/${ledgerOnly.id}/book-to-suspense`)
      .set('Authorization', as.operator(district(m)))
      .send({ reason: 'trying' })
      .expect(409);
    expect(response.body.code).toBe('EXCEPTION_NOT_BOOKABLE');
  });

  it('a changed amount is an amount mismatch naming both amounts', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 2 });
    const [changed, kept] = linesOf(m);
    const { report: body } = await importToday(m, [
      { ...changed, amountFen: changed.amountFen - 100 },
      kept,
    ]);
    expect(body).toMatchObject({
      status: 'unreconciled',
      mismatched: { count: 1, sumFen: changed.amountFen - 100 },
      balance: { status: 'open', differenceFen: -100 },
    });
    const [exception] = await exceptionsOf(district(m), '&kind=amount_mismatch');
    expect(exception).toMatchObject({
      amountFen: changed.amountFen - 100,
      ledgerAmountFen: changed.amountFen,
      details: expect.objectContaining({ differenceFen: -100 }),
    });
  });

  it('a reversal undoes the matched settlement and reopens its instruction', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 1, settle: 3 });
    const settlement = m.settlement!;
    const custodyBefore = await custody(m);
    const lines = linesOf(m);
    const reversal = {
      ref: bankRef(),
      direction: 'credit' as const,
      amountFen: settlement.amountFen,
      endToEndId: settlement.instructionId,
      counterpartyAccount: settlement.toAccount,
      reversal: true,
      remittance: '退汇 account closed',
    };
    const { report: body } = await importToday(m, [...lines, reversal]);
    expect(body).toMatchObject({
      status: 'reconciled',
      reversed: { count: 2, sumFen: 2 * settlement.amountFen },
      balance: { status: 'closed', differenceFen: 0 },
    });
    const [instruction] = await dataSource.query(
      'SELECT status, failure_reason FROM bank_instructions WHERE id = $1',
      [settlement.instructionId],
    );
    expect(instruction.status).toBe('failed');
    expect(instruction.failure_reason).toMatch(/reversed by the bank/);
    const [batch] = await dataSource.query(
      'SELECT status FROM settlement_batches WHERE instruction_id = $1',
      [settlement.instructionId],
    );
    expect(batch.status).toBe('failed');
    expect(await custody(m)).toBe(custodyBefore + settlement.amountFen);
    const payable = await dataSource.transaction((manager) =>
      ledger.balance(manager, m.school.accounts.settlement_payable),
    );
    expect(payable.postedFen).toBe(settlement.amountFen);
    const operatorExceptions = await request(t.http)
      .get('/v1/exceptions?status=open&limit=200')
      .set('Authorization', as.operator(district(m)))
      .expect(200);
    expect(operatorExceptions.body.items).toContainEqual(
      expect.objectContaining({ kind: 'instruction_failed', subjectId: settlement.instructionId }),
    );
    // The reopened instruction can be paid again.
    await request(t.http)
      .post(`/v1/bank/instructions/${settlement.instructionId}/retry`)
      .set('Authorization', as.operator(district(m)))
      .send({})
      .expect(202);
    await eventually(async () => {
      const [row] = await dataSource.query(
        'SELECT status FROM settlement_batches WHERE instruction_id IS NOT NULL AND id = (SELECT subject_id FROM bank_instructions WHERE id = $1)',
        [settlement.instructionId],
      );
      return row.status === 'paid' ? true : undefined;
    });
    await expectInstitutionInvariant(dataSource, m.school.institution.id);
  });

  it('a reversal of money the ledger never had pairs off with it', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 1 });
    const stranger = {
      ref: bankRef(),
      direction: 'credit' as const,
      amountFen: 777,
      endToEndId: 'WRONGREF',
    };
    const back = { ...stranger, ref: bankRef(), direction: 'debit' as const, reversal: true };
    const { report: body } = await importToday(m, [...linesOf(m), stranger, back]);
    expect(body).toMatchObject({
      status: 'reconciled',
      bankOnly: { count: 0 },
      reversed: { count: 2, sumFen: 1_554 },
    });
  });

  it('matches a payout by its EndToEndId, with hyphens or in 32 hex digits as sent', async () => {
    for (const form of [(id: string) => id, endToEndIdOf]) {
      const m = await schoolWithMovements(t, dataSource, { payments: 1, settle: 1 });
      const settlement = m.settlement!;
      // A bank reference of its own (not the one it gave in the notification), and no
      // counterparty: only the EndToEndId can tie the line to the instruction.
      const entries = linesOf(m).map((line) =>
        line.direction === 'debit'
          ? {
              ...line,
              ref: bankRef(),
              endToEndId: form(settlement.instructionId),
              counterpartyAccount: undefined,
            }
          : line,
      );
      const { receipt, report: body } = await importToday(m, entries);
      expect(body).toMatchObject({ status: 'reconciled', matched: { count: 2 } });
      const [payout] = await dataSource.query(
        `SELECT match_rule, instruction_id::text AS instruction_id FROM reconciliation_lines
         WHERE statement_id = $1 AND direction = 'debit'`,
        [receipt.statementId],
      );
      expect(payout).toEqual({
        match_rule: 'instruction_ref',
        instruction_id: settlement.instructionId,
      });
    }
  });

  it('matches by amount, date and counterparty when the bank gives no reference', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 2 });
    const entries = linesOf(m).map((line) => ({ ...line, ref: bankRef(), endToEndId: null }));
    const { receipt, report: body } = await importToday(m, entries);
    expect(body).toMatchObject({ status: 'reconciled', matched: { count: 2 } });
    const rules = await dataSource.query(
      'SELECT DISTINCT match_rule FROM reconciliation_lines WHERE statement_id = $1',
      [receipt.statementId],
    );
    expect(rules).toEqual([{ match_rule: 'amount_date' }]);
  });

  it('does not match by amount when the counterparty differs', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 1 });
    const [line] = linesOf(m);
    const { report: body } = await importToday(m, [
      { ...line, ref: bankRef(), endToEndId: null, counterpartyAccount: '6214999988887777' },
    ]);
    expect(body).toMatchObject({ bankOnly: { count: 1 }, ledgerOnly: { count: 1 } });
  });

  it('beyond the tolerance of days, the same amount is not a match', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 1 });
    const [line] = linesOf(m);
    const response = await uploadAsOperator(
      t.http,
      t.config,
      district(m),
      camt053({
        accountNo: m.school.custodyAccountNo,
        from: daysAgo(4),
        to: today(),
        openingFen: 0,
        entries: [{ ...line, ref: bankRef(), endToEndId: null, bookingDate: daysAgo(4) }],
      }),
    ).expect(202);
    const body = await matchedReport(response.body.statementId, district(m));
    expect(body).toMatchObject({ bankOnly: { count: 1 }, ledgerOnly: { count: 1 } });
  });

  it('a payment the bank booked before midnight and the ledger after is in transit, not a difference', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 0 });
    const course = await createCourse(dataSource, m.school.institution.id);
    const order = await createOrder(dataSource, { institution: m.school.institution, course });
    const yesterdayLate = new Date(`${daysAgo(1)}T23:59:30+08:00`);
    const notification = paymentNotification(
      m.school.custodyAccountNo,
      order.paymentReference,
      order.amountFen,
      { occurredAt: yesterdayLate.toISOString() },
    );
    await sendBankNotification(t.http, t.config, notification).expect(200);
    const response = await uploadAsOperator(
      t.http,
      t.config,
      district(m),
      camt053({
        accountNo: m.school.custodyAccountNo,
        from: daysAgo(1),
        to: today(),
        openingFen: 0,
        entries: [
          {
            ref: notification.bankTxnId,
            direction: 'credit',
            amountFen: order.amountFen,
            endToEndId: order.paymentReference,
            bookingDate: daysAgo(1),
          },
        ],
      }),
    ).expect(202);
    const body = await matchedReport(response.body.statementId, district(m));
    expect(body.status).toBe('reconciled');
    expect(body.days).toEqual([
      expect.objectContaining({
        date: daysAgo(1),
        status: 'closed',
        bankClosingFen: order.amountFen,
        ledgerBalanceFen: 0,
        inTransitFen: order.amountFen,
        differenceFen: 0,
      }),
      expect.objectContaining({
        date: today(),
        status: 'closed',
        ledgerBalanceFen: order.amountFen,
        inTransitFen: 0,
        differenceFen: 0,
      }),
    ]);
  });

  it('a notification that arrives after the statement is matched on the next run', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 0 });
    const course = await createCourse(dataSource, m.school.institution.id);
    const order = await createOrder(dataSource, { institution: m.school.institution, course });
    const notification = paymentNotification(
      m.school.custodyAccountNo,
      order.paymentReference,
      order.amountFen,
    );
    const { report: before } = await importToday(m, [
      {
        ref: notification.bankTxnId,
        direction: 'credit',
        amountFen: order.amountFen,
        endToEndId: order.paymentReference,
      },
    ]);
    expect(before).toMatchObject({ status: 'unreconciled', bankOnly: { count: 1 } });
    await sendBankNotification(t.http, t.config, notification).expect(200);
    await request(t.http)
      .post(`/v1/reconciliation/statements/${before.id}/match`)
      .set('Authorization', as.operator(district(m)))
      .expect(202);
    const after = await eventually(async () => {
      const body = (await report(before.id, district(m))).body;
      return body.status === 'reconciled' ? body : undefined;
    });
    expect(after).toMatchObject({ matched: { count: 1 }, bankOnly: { count: 0 } });
    const [exception] = await exceptionsOf(
      district(m),
      `&status=resolved&statementId=${before.id}`,
    );
    expect(exception).toMatchObject({
      kind: 'bank_only',
      resolution: 'matched',
      resolvedBy: 'system',
    });
  });

  it('a payment the bank took back is raised for operators; the ledger still holds it', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 2 });
    const [taken, kept] = linesOf(m);
    const back = {
      ref: bankRef(),
      direction: 'debit' as const,
      amountFen: taken.amountFen,
      endToEndId: taken.endToEndId,
      reversal: true,
    };
    const { report: body } = await importToday(m, [taken, kept, back]);
    expect(body).toMatchObject({
      status: 'unreconciled',
      reversed: { count: 2 },
      balance: { status: 'open', differenceFen: -taken.amountFen },
    });
    const [exception] = await exceptionsOf(district(m), '&kind=reversal');
    expect(exception).toMatchObject({
      amountFen: taken.amountFen,
      direction: 'debit',
      line: expect.objectContaining({ bankRef: back.ref, reversal: true, status: 'reversal' }),
      details: expect.objectContaining({ reversedBankRef: taken.ref }),
    });
  });

  it('the same statement sent three times at once is imported once', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 2 });
    const xml = camt053({
      accountNo: m.school.custodyAccountNo,
      from: today(),
      openingFen: 0,
      entries: linesOf(m),
    });
    const responses = await Promise.all(
      [1, 2, 3].map(() => uploadAsOperator(t.http, t.config, district(m), xml).expect(202)),
    );
    expect(new Set(responses.map((r) => r.body.statementId)).size).toBe(1);
    expect(responses.filter((r) => r.body.duplicate === false)).toHaveLength(1);
    expect(await statementCount(m.school.custodyAccountNo)).toBe(1);
  });

  it('matching again changes nothing', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 2, settle: 1 });
    const { report: body } = await importToday(m);
    expect(body.status).toBe('reconciled');
    const again = await t.app.get(MatchAccount).execute(m.school.custodyAccountNo);
    expect(again).toMatchObject({
      matchedByReference: 0,
      matchedByAmountAndDate: 0,
      bankOnly: 0,
      ledgerOnly: 0,
      mismatched: 0,
    });
    await request(t.http)
      .post(`/v1/reconciliation/statements/${body.id}/match`)
      .set('Authorization', as.operator(district(m)))
      .expect(202);
  });

  it('imports a GBK CSV sent by an operator', async () => {
    const m = await schoolWithMovements(t, dataSource, { payments: 2 });
    const csv = bankCsv({
      accountNo: m.school.custodyAccountNo,
      from: today(),
      openingFen: 0,
      entries: linesOf(m),
    });
    const response = await uploadAsOperator(t.http, t.config, district(m), encodeGbk(csv), {
      type: 'text/csv; charset=GBK',
      query: `?accountNo=${m.school.custodyAccountNo}`,
    }).expect(202);
    const body = await matchedReport(response.body.statementId, district(m));
    expect(body).toMatchObject({ format: 'csv', formatVersion: 'csv-gbk', status: 'reconciled' });
  });

  describe('refused statements: 422 naming the place, nothing imported', () => {
    let m: Movements;
    beforeAll(async () => {
      m = await schoolWithMovements(t, dataSource, { payments: 1 });
    });

    const statement = (overrides: Partial<Parameters<typeof camt053>[0]> = {}) =>
      camt053({
        accountNo: m.school.custodyAccountNo,
        from: today(),
        openingFen: 0,
        entries: linesOf(m),
        ...overrides,
      });

    it.each([
      ['a broken balance', () => statement({ closingFen: 1 }), 'STATEMENT_UNBALANCED', /Bal/],
      [
        'malformed XML',
        () => statement().replace('</Acct>', '</Acct'),
        'STATEMENT_MALFORMED',
        /xml/,
      ],
      [
        'more than 2 decimals',
        () =>
          statement().replace(
            /<Ntry><Amt Ccy="CNY">(\d+)\.(\d\d)</,
            '<Ntry><Amt Ccy="CNY">$1.$21<',
          ),
        'STATEMENT_INVALID',
        /Ntry\[1\]/,
      ],
      [
        'an XML bomb',
        () =>
          '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>' +
          '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&lol2;</Document>',
        'STATEMENT_MALFORMED',
        /DOCTYPE/,
      ],
    ])('%s', async (_what, body, code, field) => {
      const response = await uploadAsOperator(t.http, t.config, district(m), body()).expect(422);
      expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(response.body.code).toBe(code);
      expect(response.body.errors[0].field).toMatch(field);
      expect(await statementCount(m.school.custodyAccountNo)).toBe(0);
    });

    it('an account that is no custody account', async () => {
      const response = await uploadAsOperator(
        t.http,
        t.config,
        district(m),
        camt053({ accountNo: '6222999900001111', from: today(), openingFen: 0, entries: [] }),
      ).expect(422);
      expect(response.body.code).toBe('STATEMENT_UNKNOWN_ACCOUNT');
    });

    it('a CSV without its account, a file too large, a type not a statement', async () => {
      const csv = bankCsv({
        accountNo: m.school.custodyAccountNo,
        from: today(),
        openingFen: 0,
        entries: linesOf(m),
      });
      const noAccount = await uploadAsOperator(t.http, t.config, district(m), csv, {
        type: 'text/csv',
      }).expect(422);
      expect(noAccount.body.errors[0].field).toBe('accountNo');
      const large = await uploadAsOperator(
        t.http,
        t.config,
        district(m),
        Buffer.alloc(MAX_BODY + 1, 32),
      ).expect(413);
      expect(large.body.code).toBe('PAYLOAD_TOO_LARGE');
      // Over the JSON limit but within the statement's: read here (and refused as no statement),
      // refused for its size on any other route; and a statement file is no body for another.
      const beyondJson = Buffer.alloc(JSON_BODY_LIMIT_BYTES + 1, 32);
      const read = await uploadAsOperator(t.http, t.config, district(m), beyondJson).expect(422);
      expect(read.body.code).toBe('STATEMENT_MALFORMED');
      for (const [type, body, status, code] of [
        ['application/json', beyondJson, 413, 'PAYLOAD_TOO_LARGE'],
        ['text/csv', csv, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ] as const) {
        const elsewhere = await request(t.http)
          .post('/v1/orders')
          .set('Content-Type', type)
          .send(body)
          .expect(status);
        expect(elsewhere.body.code).toBe(code);
      }
      const json = await uploadAsOperator(t.http, t.config, district(m), '{}', {
        type: 'application/json',
      }).expect(415);
      expect(json.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      const empty = await uploadAsOperator(t.http, t.config, district(m), '').expect(422);
      expect(empty.body.code).toBe('STATEMENT_MALFORMED');
      // Never inflated: a compressed file is refused as such, not read as a broken statement.
      const gzipped = await uploadAsOperator(t.http, t.config, district(m), gzipSync(csv), {
        type: 'text/csv',
      })
        .set('Content-Encoding', 'gzip')
        .expect(415);
      expect(gzipped.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(await statementCount(m.school.custodyAccountNo)).toBe(0);
    });

    it('a statement whose line says otherwise than an imported one', async () => {
      const other = await schoolWithMovements(t, dataSource, { payments: 1 });
      const [line] = linesOf(other);
      await importToday(other, [line]);
      const changed = camt053({
        accountNo: other.school.custodyAccountNo,
        from: today(),
        to: today(),
        openingFen: 0,
        entries: [{ ...line, amountFen: line.amountFen + 1 }],
      });
      const response = await uploadAsOperator(t.http, t.config, district(other), changed).expect(
        422,
      );
      expect(response.body.code).toBe('STATEMENT_CONFLICT');
      expect(await statementCount(other.school.custodyAccountNo)).toBe(1);
    });

    it('a sequence number that skips one, and an opening that does not continue', async () => {
      const school = await createInstitution(dataSource);
      const upload = (body: string) =>
        uploadAsOperator(t.http, t.config, school.institution.districtId, body);
      const day = (n: number, openingFen: number, sequenceNo: number, amountFen = 0) =>
        camt053({
          accountNo: school.custodyAccountNo,
          from: daysAgo(n),
          openingFen,
          sequenceNo,
          entries: amountFen ? [{ ref: bankRef(), direction: 'credit', amountFen }] : [],
        });
      await upload(day(3, 0, 10, 500)).expect(202);
      const gap = await upload(day(1, 500, 12)).expect(422);
      expect(gap.body).toMatchObject({ code: 'STATEMENT_SEQUENCE_GAP', expectedSequenceNo: 11 });
      const jump = await upload(day(2, 400, 11)).expect(422);
      expect(jump.body.code).toBe('STATEMENT_NOT_CONTINUOUS');
      expect(jump.body.errors[0].message).toMatch(/closed .* at 500 fen/);
      await upload(day(2, 500, 11)).expect(202);
      // A missing day without a sequence number shows in the balance.
      const csvGap = await uploadAsOperator(
        t.http,
        t.config,
        school.institution.districtId,
        bankCsv({
          accountNo: school.custodyAccountNo,
          from: today(),
          openingFen: 900,
          entries: [{ ref: bankRef(), direction: 'credit', amountFen: 1 }],
        }),
        { type: 'text/csv', query: `?accountNo=${school.custodyAccountNo}` },
      ).expect(422);
      expect(csvGap.body.code).toBe('STATEMENT_NOT_CONTINUOUS');
      expect(csvGap.body.errors[0].message).toMatch(/is missing/);
    });
  });

  describe('who may do what', () => {
    let m: Movements;
    let xml: string;
    beforeAll(async () => {
      m = await schoolWithMovements(t, dataSource, { payments: 1 });
      xml = camt053({
        accountNo: m.school.custodyAccountNo,
        from: today(),
        openingFen: 0,
        entries: linesOf(m),
      });
    });

    it('refuses uploads without credentials, with a bad signature, from other roles and districts', async () => {
      const anonymous = await request(t.http)
        .post('/v1/reconciliation/statements')
        .set('Content-Type', 'application/xml')
        .send(xml)
        .expect(401);
      expect(anonymous.body.code).toBe('UNAUTHENTICATED');
      // Refused before its body is read: a file over the limit gets 401, not 413.
      const anonymousLarge = await request(t.http)
        .post('/v1/reconciliation/statements')
        .set('Content-Type', 'application/xml')
        .send(Buffer.alloc(MAX_BODY + 1, 32))
        .expect(401);
      expect(anonymousLarge.body.code).toBe('UNAUTHENTICATED');
      const forged = await uploadAsBank(t.http, t.config, xml, {
        secret: 'not-the-bank-secret-at-all',
      }).expect(401);
      expect(forged.body.code).toBe('BANK_SIGNATURE_INVALID');
      for (const token of [
        as.auditor(district(m)),
        as.institution(m.school.institution),
        as.parent('p-1'),
      ]) {
        const response = await request(t.http)
          .post('/v1/reconciliation/statements')
          .set('Authorization', token)
          .set('Content-Type', 'application/xml')
          .send(xml)
          .expect(403);
        expect(response.body.code).toBe('FORBIDDEN_ROLE');
      }
      const otherDistrict = await uploadAsOperator(
        t.http,
        t.config,
        'another-district',
        xml,
      ).expect(403);
      expect(otherDistrict.body.code).toBe('FORBIDDEN_SCOPE');
      expect(await statementCount(m.school.custodyAccountNo)).toBe(0);
    });

    it('lets the bank deliver a signed statement, and shows it only in its district', async () => {
      const response = await uploadAsBank(t.http, t.config, xml).expect(202);
      const body = await matchedReport(response.body.statementId, district(m));
      expect(body).toMatchObject({ source: 'bank', importedBy: 'bank', status: 'reconciled' });
      await request(t.http)
        .get(`/v1/reconciliation/statements/${response.body.statementId}`)
        .set('Authorization', as.auditor('another-district'))
        .expect(404);
      await request(t.http)
        .get(`/v1/reconciliation/statements/${response.body.statementId}`)
        .set('Authorization', as.institution(m.school.institution))
        .expect(403);
      const list = await request(t.http)
        .get(`/v1/reconciliation/statements?accountNo=${m.school.custodyAccountNo}`)
        .set('Authorization', as.auditor(district(m)))
        .expect(200);
      expect(list.body.items).toEqual([expect.objectContaining({ id: response.body.statementId })]);
      const elsewhere = await request(t.http)
        .get(`/v1/reconciliation/statements?accountNo=${m.school.custodyAccountNo}`)
        .set('Authorization', as.auditor('another-district'))
        .expect(200);
      expect(elsewhere.body.items).toEqual([]);
    });
  });

  it("the daily job fetches yesterday's statement of each custody account from the bank", async () => {
    const school = await createInstitution(dataSource);
    const yesterday = daysAgo(1);
    bank.statements.set(
      `${school.custodyAccountNo}:${yesterday}`,
      camt053({ accountNo: school.custodyAccountNo, from: yesterday, openingFen: 0, entries: [] }),
    );
    const report1 = await t.app
      .get(FetchStatements)
      .execute({ accountNos: [school.custodyAccountNo] });
    expect(report1).toMatchObject({ day: yesterday, refused: [], unavailable: [] });
    expect(report1.imported).toEqual([
      expect.objectContaining({ accountNo: school.custodyAccountNo, duplicate: false }),
    ]);
    const body = await matchedReport(
      report1.imported[0].statementId,
      school.institution.districtId,
    );
    expect(body).toMatchObject({ source: 'job', status: 'reconciled' });
    // Run again (a retry): found as the same statement.
    const report2 = await t.app
      .get(FetchStatements)
      .execute({ accountNos: [school.custodyAccountNo] });
    expect(report2.imported[0]).toMatchObject({ duplicate: true, statementId: body.id });
  });
});

/** GBK bytes of a text of ASCII and common Chinese, as a bank's export would carry them. */
function encodeGbk(text: string): Buffer {
  const decoder = new TextDecoder('gbk');
  const table = new Map<string, number[]>();
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) {
      if (trail === 0x7f) continue;
      const char = decoder.decode(Uint8Array.from([lead, trail]));
      if (char.length === 1 && !table.has(char)) table.set(char, [lead, trail]);
    }
  }
  const bytes: number[] = [];
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (code < 0x80) bytes.push(code);
    else {
      const pair = table.get(char);
      if (!pair) throw new Error(`no GBK code for ${char}`);
      bytes.push(...pair);
    }
  }
  return Buffer.from(bytes);
}
