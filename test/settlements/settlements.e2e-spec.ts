/**
 * Settlements through the outbox and the bull worker, with a bank whose every answer the test
 * controls (the sandbox bank's end-to-end test covers the real HTTP path).
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { BankInstructionsService } from '../../src/bank/bank-instructions.service';
import { LedgerService } from '../../src/ledger/ledger.service';
import { sendBankNotification } from '../support/bank';
import { InstitutionFixture, createInstitution, createPaidOrder } from '../support/factories';
import { FakeBankGateway } from '../support/fake-bank-gateway';
import { expectInstitutionInvariant } from '../support/invariant';
import {
  LedgerTestApp,
  closeWithBooksBalanced,
  createBankDoubleTestApp,
} from '../support/ledger-app';
import { eventually } from '../support/waiting';

describe('settlements (HTTP, queue, outbox)', () => {
  let t: LedgerTestApp;
  const bank = new FakeBankGateway();
  const ledger = new LedgerService();

  beforeAll(async () => {
    t = await createBankDoubleTestApp(bank);
  });

  beforeEach(() => {
    Object.assign(bank, { failNext: 0, rejectNext: 0, acceptOnly: false, failTransfers: false });
  });

  afterAll(() => closeWithBooksBalanced(t));

  /** An institution with one paid order of 10 × 4,000 fen and `released` confirmed lessons. */
  const schoolWithReleasedLessons = (released: number) =>
    createPaidOrder(t.dataSource, { released });

  const run = (school: InstitutionFixture) =>
    request(t.http)
      .post('/v1/settlements/run')
      .set('Authorization', t.as.operator(school.institution.districtId))
      .expect(202);

  const batchStatus = async (batchId: string) =>
    (await t.dataSource.query('SELECT status FROM settlement_batches WHERE id = $1', [batchId]))[0]
      ?.status as string | undefined;

  const paidEventually = (batchId: string) =>
    eventually(async () => ((await batchStatus(batchId)) === 'paid' ? true : undefined));

  const balances = async (school: InstitutionFixture) => {
    const rows = await t.dataSource.transaction((m) =>
      ledger.balances(m, [school.accounts.custody_cash, school.accounts.settlement_payable]),
    );
    const of = (id: string) => rows.find((r) => r.accountId === id)!.postedFen;
    return {
      custody: of(school.accounts.custody_cash),
      payable: of(school.accounts.settlement_payable),
    };
  };

  it('pays the released fees of an institution in one batch and books it once', async () => {
    const { school } = await schoolWithReleasedLessons(3);
    const response = await run(school);
    expect(response.body.batches).toHaveLength(1);
    const [batch] = response.body.batches;
    expect(batch).toMatchObject({ amountFen: 12_000, lessonCount: 3, status: 'paying' });
    await paidEventually(batch.id);
    expect(await balances(school)).toEqual({ custody: 40_000 - 12_000, payable: 0 });
    await expectInstitutionInvariant(t.dataSource, school.institution.id);

    const detail = await request(t.http)
      .get(`/v1/settlements/${batch.id}`)
      .set('Authorization', t.as.institution(school.institution))
      .expect(200);
    expect(detail.body).toMatchObject({ status: 'paid', amountFen: 12_000 });
    expect(detail.body.lessons.map((l: { sequence: number }) => l.sequence)).toEqual([1, 2, 3]);

    // Nothing left to settle: a second run makes no batch for this institution.
    const again = await run(school);
    expect(
      again.body.batches.filter(
        (b: { institutionId: string }) => b.institutionId === school.institution.id,
      ),
    ).toEqual([]);
  });

  it('batches each lesson once under concurrent runs', async () => {
    const { school } = await schoolWithReleasedLessons(4);
    const responses = await Promise.all([1, 2, 3, 4, 5].map(() => run(school)));
    const batches = responses.flatMap((r) => r.body.batches);
    expect(batches).toHaveLength(1);
    await paidEventually(batches[0].id);
    expect(await balances(school)).toEqual({ custody: 40_000 - 16_000, payable: 0 });
  });

  it('pays once after the bank fails the first 3 calls', async () => {
    const { school } = await schoolWithReleasedLessons(2);
    bank.failNext = 3;
    const callsBefore = bank.calls;
    const [batch] = (await run(school)).body.batches;
    await paidEventually(batch.id);
    expect(bank.calls - callsBefore).toBe(4);
    expect(await balances(school)).toEqual({ custody: 40_000 - 8_000, payable: 0 });
    const [instruction] = await t.dataSource.query(
      'SELECT attempts, status FROM bank_instructions WHERE id = $1',
      [batch.instructionId],
    );
    expect(instruction).toEqual({ attempts: 4, status: 'succeeded' });
  });

  it('keeps the money in settlement_payable when the bank refuses, and pays on an operator retry', async () => {
    const { school } = await schoolWithReleasedLessons(2);
    bank.failTransfers = true;
    const [batch] = (await run(school)).body.batches;
    await eventually(async () => ((await batchStatus(batch.id)) === 'failed' ? true : undefined));
    expect(await balances(school)).toEqual({ custody: 40_000, payable: 8_000 });
    const exceptions = await request(t.http)
      .get('/v1/exceptions?status=open&limit=200')
      .set('Authorization', t.as.operator(school.institution.districtId))
      .expect(200);
    expect(exceptions.body.items).toContainEqual(
      expect.objectContaining({ kind: 'instruction_failed', subjectId: batch.instructionId }),
    );

    bank.failTransfers = false;
    const retry = await request(t.http)
      .post(`/v1/bank/instructions/${batch.instructionId}/retry`)
      .set('Authorization', t.as.operator(school.institution.districtId))
      .send({
        toAccount: { bankCode: 'BOC', accountNo: '6228000011112222', accountName: 'Corrected' },
      })
      .expect(202);
    expect(retry.body).toMatchObject({ retryOf: batch.instructionId, status: 'pending' });
    await paidEventually(batch.id);
    expect(await balances(school)).toEqual({ custody: 32_000, payable: 0 });

    // A second retry of the same failed instruction is refused.
    const twice = await request(t.http)
      .post(`/v1/bank/instructions/${batch.instructionId}/retry`)
      .set('Authorization', t.as.operator(school.institution.districtId))
      .send({})
      .expect(409);
    expect(twice.body.code).toBe('INSTRUCTION_ALREADY_RETRIED');
  });

  it('refuses a retry from another district or of an instruction that did not fail', async () => {
    const { school } = await schoolWithReleasedLessons(1);
    const [batch] = (await run(school)).body.batches;
    await paidEventually(batch.id);
    await request(t.http)
      .post(`/v1/bank/instructions/${batch.instructionId}/retry`)
      .set('Authorization', t.as.operator('another-district'))
      .send({})
      .expect(404);
    const response = await request(t.http)
      .post(`/v1/bank/instructions/${batch.instructionId}/retry`)
      .set('Authorization', t.as.operator(school.institution.districtId))
      .send({})
      .expect(409);
    expect(response.body.code).toBe('INSTRUCTION_NOT_FAILED');
  });

  it('completes from the bank notification when the bank only accepts, and posts a duplicate notification once', async () => {
    const { school } = await schoolWithReleasedLessons(2);
    bank.acceptOnly = true;
    const [batch] = (await run(school)).body.batches;
    await eventually(async () => {
      const [row] = await t.dataSource.query('SELECT status FROM bank_instructions WHERE id = $1', [
        batch.instructionId,
      ]);
      return row.status === 'submitted' ? true : undefined;
    });
    expect(await batchStatus(batch.id)).toBe('paying');
    const notification = {
      type: 'transfer_succeeded',
      accountNo: school.custodyAccountNo,
      amountFen: 8_000,
      reference: batch.instructionId,
      bankTxnId: `TXN${randomUUID()}`,
      occurredAt: new Date().toISOString(),
    };
    for (const eventId of [`evt_${randomUUID()}`, `evt_${randomUUID()}`]) {
      const response = await sendBankNotification(t.http, t.config, {
        ...notification,
        eventId,
      }).expect(200);
      expect(response.body.outcome).toBe('completed');
    }
    expect(await batchStatus(batch.id)).toBe('paid');
    const [{ n }] = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM ledger_transactions WHERE reference = $1`,
      [`instruction:${batch.instructionId}:paid`],
    );
    expect(n).toBe(1);
    expect(await balances(school)).toEqual({ custody: 32_000, payable: 0 });
  });

  it('does not complete an instruction from a notification that disagrees with it', async () => {
    const { school } = await schoolWithReleasedLessons(1);
    bank.acceptOnly = true;
    const [batch] = (await run(school)).body.batches;
    const response = await sendBankNotification(t.http, t.config, {
      eventId: `evt_${randomUUID()}`,
      type: 'transfer_succeeded',
      accountNo: school.custodyAccountNo,
      amountFen: 999,
      reference: batch.instructionId,
      bankTxnId: `TXN${randomUUID()}`,
      occurredAt: new Date().toISOString(),
    }).expect(200);
    expect(response.body.outcome).toBe('mismatch');
    expect(await batchStatus(batch.id)).toBe('paying');
    expect((await balances(school)).payable).toBe(4_000);
  });

  it('lets the sweeper pay an instruction the queue lost', async () => {
    const { school } = await schoolWithReleasedLessons(1);
    const instructions = t.app.get(BankInstructionsService);
    // Write the batch and its instruction but lose the job, as if Redis had dropped it.
    const spy = jest.spyOn(instructions, 'enqueue').mockResolvedValueOnce(undefined);
    const [batch] = (await run(school)).body.batches;
    spy.mockRestore();
    expect(await batchStatus(batch.id)).toBe('paying');
    await t.dataSource.query(
      `UPDATE bank_instructions SET updated_at = now() - interval '1 minute' WHERE id = $1`,
      [batch.instructionId],
    );
    expect(await instructions.sweep(30_000, school.institution.id)).toBe(1);
    await paidEventually(batch.id);
    expect(await balances(school)).toEqual({ custody: 36_000, payable: 0 });
  });

  describe('reading, scoped', () => {
    it('shows an institution only its batches and an auditor only their district', async () => {
      const { school } = await schoolWithReleasedLessons(1);
      const [batch] = (await run(school)).body.batches;
      await paidEventually(batch.id);
      const other = await createInstitution(t.dataSource);
      const own = await request(t.http)
        .get('/v1/settlements')
        .set('Authorization', t.as.institution(school.institution))
        .expect(200);
      expect(own.body.items.map((b: { id: string }) => b.id)).toEqual([batch.id]);
      await request(t.http)
        .get(`/v1/settlements/${batch.id}`)
        .set('Authorization', t.as.institution(other.institution))
        .expect(404);
      await request(t.http)
        .get(`/v1/settlements/${batch.id}`)
        .set('Authorization', t.as.auditor(school.institution.districtId))
        .expect(200);
      const foreign = await request(t.http)
        .get('/v1/settlements')
        .set('Authorization', t.as.auditor('another-district'))
        .expect(200);
      expect(foreign.body.items).toEqual([]);
      await request(t.http)
        .get('/v1/settlements')
        .set('Authorization', t.as.parent('p-1'))
        .expect(403);
      await request(t.http)
        .post('/v1/settlements/run')
        .set('Authorization', t.as.auditor(school.institution.districtId))
        .expect(403);
      await request(t.http)
        .get('/v1/settlements/not-a-uuid')
        .set('Authorization', t.as.auditor(school.institution.districtId))
        .expect(400);
    });
  });
});
