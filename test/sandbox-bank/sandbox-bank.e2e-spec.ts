/**
 * The sandbox bank through the gateway the service uses: money moves once, notifications arrive
 * signed (and again when told to, or when the receiver was down), faults fail the calls they
 * should, statements add up to the fen.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import {
  BankRejectedError,
  BankUnavailableError,
  TransferInstruction,
} from '../../src/bank/bank-gateway';
import { HttpBankGateway } from '../../src/bank/http-bank.gateway';
import { NotificationView, PAYER_OPENING_BALANCE_FEN } from '../../src/bank/sandbox/sandbox-book';
import { startSandboxBank } from '../../src/bank/sandbox/sandbox-bank';
import { CSV_HEADER } from '../../src/bank/sandbox/statements';
import { chinaDate } from '../../src/common/time/china-date';
import { TestSandbox, startTestSandbox, waitUntil } from './sandbox-harness';

const digits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('');
const custodyNo = () => `6222${digits(12)}`;
const settlementNo = () => `6228${digits(12)}`;
const parent = () => ({ bankCode: 'CMB', accountNo: `6214${digits(12)}`, accountName: '王芳' });
const newId = (prefix: string) => `${prefix}${randomBytes(8).toString('hex').toUpperCase()}`;
const DAY_MS = 86_400_000;
const chinaDay = (offsetDays: number) => chinaDate(new Date(Date.now() + offsetDays * DAY_MS));

/** "1234.05" → 123405, by integer arithmetic only. */
function fen(yuan: string): number {
  const match = /^(\d+)\.(\d{2})$/.exec(yuan);
  if (!match) throw new Error(`not a yuan amount: ${yuan}`);
  return Number(match[1]) * 100 + Number(match[2]);
}

describe('sandbox bank', () => {
  let sandbox: TestSandbox;
  let gateway: HttpBankGateway;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    gateway = new HttpBankGateway({ apiUrl: sandbox.bank.url, timeoutMs: 5_000 });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  afterEach(async () => {
    await request(sandbox.bank.url).delete('/sandbox/faults').expect(204);
    sandbox.receiver.answers = [];
  });

  const pay = async (accountNo: string, amountFen: number, payer = parent()) => {
    const reference = newId('PAY');
    const response = await request(sandbox.bank.url)
      .post('/sandbox/payments')
      .send({ payerAccount: payer, accountNo, amountFen, reference })
      .expect(201);
    return { reference, ...(response.body as { bankTxnId: string; eventId: string }) };
  };
  const balance = async (accountNo: string): Promise<number> => {
    const response = await request(sandbox.bank.url).get(`/sandbox/accounts/${accountNo}`);
    return response.status === 404 ? 0 : (response.body.balanceFen as number);
  };
  const instruction = (
    fromAccountNo: string,
    amountFen: number,
    overrides: Partial<TransferInstruction> = {},
  ): TransferInstruction => {
    const instructionId = newId('SET');
    return {
      instructionId,
      endToEndId: `E2E${instructionId}`,
      fromAccountNo,
      to: { bankCode: 'BOC', accountNo: settlementNo(), accountName: '龙泉驿区明德培训学校' },
      amountFen,
      purpose: 'settlement',
      ...overrides,
    };
  };
  const faults = (body: object) =>
    request(sandbox.bank.url).post('/sandbox/faults').send(body).expect(200);
  const notificationsOf = async (accountNo: string) =>
    (await request(sandbox.bank.url).get(`/sandbox/notifications?accountNo=${accountNo}`)).body
      .items as NotificationView[];

  describe('payments', () => {
    it('moves the money from the parent to custody and notifies payment_received, signed', async () => {
      const custody = custodyNo();
      const payer = parent();
      const paid = await pay(custody, 123_405, payer);

      const [notification] = await sandbox.receiver.waitFor(paid.reference);
      expect(notification.signatureValid).toBe(true);
      expect(notification.dtoErrors).toEqual([]);
      expect(notification.body).toEqual({
        eventId: paid.eventId,
        type: 'payment_received',
        accountNo: custody,
        amountFen: 123_405,
        reference: paid.reference,
        bankTxnId: paid.bankTxnId,
        occurredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/),
        payerAccount: payer,
      });

      const account = (await request(sandbox.bank.url).get(`/sandbox/accounts/${custody}`)).body;
      expect(account).toMatchObject({ accountNo: custody, balanceFen: 123_405 });
      expect(account.movements).toEqual([
        expect.objectContaining({
          bankTxnId: paid.bankTxnId,
          direction: 'credit',
          amountFen: 123_405,
          balanceAfterFen: 123_405,
          endToEndId: paid.reference,
          counterparty: { bankCode: 'CMB', accountNo: payer.accountNo, name: '王芳' },
        }),
      ]);
      expect(await balance(payer.accountNo)).toBe(PAYER_OPENING_BALANCE_FEN - 123_405);
    });

    it('refuses a payment that is not valid, with the fields named', async () => {
      const response = await request(sandbox.bank.url)
        .post('/sandbox/payments')
        .send({ payerAccount: { bankCode: 'cmb' }, accountNo: '12', amountFen: 1.5, extra: 1 })
        .expect(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field)).toEqual(
        expect.arrayContaining([
          'extra',
          'payerAccount.bankCode',
          'payerAccount.accountNo',
          'accountNo',
          'amountFen',
          'reference',
        ]),
      );
    });
  });

  describe('transfers', () => {
    it('executes an instruction once for ten concurrent submissions', async () => {
      const custody = custodyNo();
      await pay(custody, 500_000);
      const transfer = instruction(custody, 200_000);

      const results = await Promise.all(
        Array.from({ length: 10 }, () => gateway.submitTransfer(transfer)),
      );
      expect(results[0]).toEqual({
        instructionId: transfer.instructionId,
        state: 'succeeded',
        bankTxnId: expect.stringMatching(/^SBX\d{8}[0-9A-F]{16}$/),
      });
      expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
      expect(await balance(custody)).toBe(300_000);
      expect(await balance(transfer.to.accountNo)).toBe(200_000);

      const [notification] = await sandbox.receiver.waitFor(transfer.instructionId);
      expect(notification.signatureValid).toBe(true);
      expect(notification.dtoErrors).toEqual([]);
      expect(notification.body).toEqual({
        eventId: expect.any(String),
        type: 'transfer_succeeded',
        accountNo: custody,
        amountFen: 200_000,
        reference: transfer.instructionId,
        bankTxnId: results[0].bankTxnId,
        occurredAt: expect.stringMatching(/\+08:00$/),
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sandbox.receiver.about(transfer.instructionId)).toHaveLength(1);

      expect(await gateway.getTransfer(transfer.instructionId)).toEqual(results[0]);
      const again = await request(sandbox.bank.url).post('/bank/transfers').send(transfer);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(results[0]);
    });

    it('refuses the same instruction id with other details (409) and moves nothing', async () => {
      const custody = custodyNo();
      await pay(custody, 10_000);
      const transfer = instruction(custody, 1_000);
      await gateway.submitTransfer(transfer);
      const error = await gateway
        .submitTransfer({ ...transfer, amountFen: 2_000 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BankRejectedError);
      expect((error as Error).message).toMatch(/409 INSTRUCTION_ID_REUSED/);
      expect(await balance(custody)).toBe(9_000);
    });

    it('fails an instruction the custody balance cannot cover, with transfer_failed', async () => {
      const custody = custodyNo();
      await pay(custody, 1_000);
      const transfer = instruction(custody, 1_001, { purpose: 'refund' });

      const result = await gateway.submitTransfer(transfer);
      expect(result).toEqual({
        instructionId: transfer.instructionId,
        state: 'failed',
        bankTxnId: expect.any(String),
        reason: 'insufficient funds',
      });
      const [notification] = await sandbox.receiver.waitFor(transfer.instructionId);
      expect(notification.body).toMatchObject({
        type: 'transfer_failed',
        accountNo: custody,
        amountFen: 1_001,
        reason: 'insufficient funds',
      });
      expect(notification.dtoErrors).toEqual([]);
      expect(await balance(custody)).toBe(1_000);
      expect(await balance(transfer.to.accountNo)).toBe(0);
    });

    it('knows nothing of an instruction it never received', async () => {
      expect(await gateway.getTransfer(newId('NOPE'))).toBeNull();
    });
  });

  describe('faults', () => {
    it('failNext 3: three 503s (BankUnavailableError) that do nothing, then the transfer', async () => {
      const custody = custodyNo();
      await pay(custody, 50_000);
      await faults({ accountNo: custody, failNext: 3 });
      const transfer = instruction(custody, 20_000);

      for (let i = 0; i < 3; i += 1) {
        await expect(gateway.submitTransfer(transfer)).rejects.toThrow(BankUnavailableError);
      }
      expect(await balance(custody)).toBe(50_000);
      await expect(gateway.submitTransfer(transfer)).resolves.toMatchObject({
        state: 'succeeded',
      });
      expect(await balance(custody)).toBe(30_000);
    });

    it('failNext applies per account: other accounts are served', async () => {
      const troubled = custodyNo();
      const healthy = custodyNo();
      await pay(healthy, 5_000);
      await faults({ accountNo: troubled, failNext: 1 });
      await expect(gateway.submitTransfer(instruction(healthy, 100))).resolves.toMatchObject({
        state: 'succeeded',
      });
    });

    it('rejectNext: the instruction fails (beneficiary account closed) and is notified', async () => {
      const custody = custodyNo();
      await pay(custody, 50_000);
      await faults({ rejectNext: 1 });
      const transfer = instruction(custody, 20_000);

      await expect(gateway.submitTransfer(transfer)).resolves.toMatchObject({
        state: 'failed',
        reason: 'beneficiary account closed',
      });
      const [notification] = await sandbox.receiver.waitFor(transfer.instructionId);
      expect(notification.body).toMatchObject({
        type: 'transfer_failed',
        reason: 'beneficiary account closed',
      });
      expect(await balance(custody)).toBe(50_000);
      await expect(gateway.submitTransfer(instruction(custody, 20_000))).resolves.toMatchObject({
        state: 'succeeded',
      });
    });

    it('timeoutNext: the gateway gives up, yet the bank did the work; getTransfer tells', async () => {
      const custody = custodyNo();
      await pay(custody, 50_000);
      await faults({ accountNo: custody, timeoutNext: 1 });
      const impatient = new HttpBankGateway({ apiUrl: sandbox.bank.url, timeoutMs: 300 });
      const transfer = instruction(custody, 20_000);

      const started = Date.now();
      const error = await impatient.submitTransfer(transfer).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BankUnavailableError);
      expect((error as Error).message).toMatch(/no answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(2_000);

      const truth = await gateway.getTransfer(transfer.instructionId);
      expect(truth).toMatchObject({ state: 'succeeded' });
      expect(await balance(custody)).toBe(30_000);
      await expect(gateway.submitTransfer(transfer)).resolves.toEqual(truth);
      expect(await balance(custody)).toBe(30_000);
      expect(await sandbox.receiver.waitFor(transfer.instructionId)).toHaveLength(1);
    });

    it('timeoutNext before_work: the gateway gives up and the bank never received it', async () => {
      const custody = custodyNo();
      await pay(custody, 50_000);
      await faults({ accountNo: custody, timeoutNext: 1, timeoutMode: 'before_work' });
      const impatient = new HttpBankGateway({ apiUrl: sandbox.bank.url, timeoutMs: 300 });
      const transfer = instruction(custody, 20_000);

      await expect(impatient.submitTransfer(transfer)).rejects.toThrow(BankUnavailableError);
      expect(await gateway.getTransfer(transfer.instructionId)).toBeNull();
      expect(await balance(custody)).toBe(50_000);
    });

    it('delayMs: answers slowly, and a client that waits gets the answer', async () => {
      const custody = custodyNo();
      await pay(custody, 5_000);
      await faults({ delayMs: 400 });
      const started = Date.now();
      await expect(gateway.submitTransfer(instruction(custody, 100))).resolves.toMatchObject({
        state: 'succeeded',
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      const impatient = new HttpBankGateway({ apiUrl: sandbox.bank.url, timeoutMs: 150 });
      await expect(impatient.getTransfer(newId('X'))).rejects.toThrow(BankUnavailableError);
    });

    it('duplicateNotifications: the same notification (event id and body) arrives twice', async () => {
      const custody = custodyNo();
      await faults({ accountNo: custody, duplicateNotifications: 1 });
      const twice = await pay(custody, 7_700);
      const once = await pay(custody, 100);

      const copies = await sandbox.receiver.waitFor(twice.reference, 2);
      expect(copies).toHaveLength(2);
      expect(copies[0].body.eventId).toBe(twice.eventId);
      expect(copies[1].rawBody).toBe(copies[0].rawBody);
      expect(copies.every((n) => n.signatureValid)).toBe(true);
      await sandbox.receiver.waitFor(once.reference);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sandbox.receiver.about(twice.reference)).toHaveLength(2);
      expect(sandbox.receiver.about(once.reference)).toHaveLength(1);
    });

    it('lists and clears faults', async () => {
      const custody = custodyNo();
      const set = await faults({ accountNo: custody, failNext: 2, delayMs: 10 });
      expect(set.body).toMatchObject({ accountNo: custody, failNext: 2, delayMs: 10 });
      const listed = await request(sandbox.bank.url).get('/sandbox/faults').expect(200);
      expect(listed.body.items).toContainEqual(expect.objectContaining({ accountNo: custody }));
      await request(sandbox.bank.url).delete(`/sandbox/faults?accountNo=${custody}`).expect(204);
      const after = await request(sandbox.bank.url).get('/sandbox/faults').expect(200);
      expect(after.body.items).not.toContainEqual(expect.objectContaining({ accountNo: custody }));
    });
  });

  describe('notification delivery', () => {
    it('retries until a receiver that was down comes back', async () => {
      const custody = custodyNo();
      await sandbox.receiver.stop();
      let paid: Awaited<ReturnType<typeof pay>>;
      try {
        paid = await pay(custody, 4_200);
        await waitUntil(async () => (await notificationsOf(custody))[0]?.attempts >= 2);
        const [pending] = await notificationsOf(custody);
        expect(pending).toMatchObject({ status: 'pending', deliveredCount: 0 });
        expect(pending.lastError).toEqual(expect.any(String));
      } finally {
        await sandbox.receiver.start();
      }
      const [notification] = await sandbox.receiver.waitFor(paid.reference);
      expect(notification.signatureValid).toBe(true);
      await waitUntil(async () => (await notificationsOf(custody))[0]?.status === 'delivered');
    });

    it('retries 409 and 5xx answers', async () => {
      const custody = custodyNo();
      sandbox.receiver.answers = [409, 503];
      const paid = await pay(custody, 4_300);
      const received = await sandbox.receiver.waitFor(paid.reference, 3);
      expect(received.map((n) => n.status)).toEqual([409, 503, 200]);
      expect(new Set(received.map((n) => n.rawBody)).size).toBe(1);
      await waitUntil(async () => (await notificationsOf(custody))[0]?.status === 'delivered');
    });

    it('records a 4xx answer as rejected and does not retry it', async () => {
      const custody = custodyNo();
      sandbox.receiver.answers = [400];
      const paid = await pay(custody, 4_400);
      await sandbox.receiver.waitFor(paid.reference);
      await waitUntil(async () => (await notificationsOf(custody))[0]?.status === 'rejected');
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(sandbox.receiver.about(paid.reference)).toHaveLength(1);
      expect((await notificationsOf(custody))[0]).toMatchObject({ attempts: 1, lastStatus: 400 });
    });
  });

  describe('statements', () => {
    // Amounts chosen where floating point goes wrong: 0.05, 0.10, and the largest a request may carry.
    let custody: string;
    let references: string[];
    let endToEndId: string;
    const today = chinaDay(0);

    beforeAll(async () => {
      custody = custodyNo();
      references = [];
      for (const amountFen of [123_405, 5, 9_999_999_999]) {
        references.push((await pay(custody, amountFen)).reference);
      }
      const transfer = instruction(custody, 10);
      endToEndId = transfer.endToEndId;
      await gateway.submitTransfer(transfer);
    });

    const parseCamt = (xml: string) => {
      const balances = Object.fromEntries(
        [
          ...xml.matchAll(
            /<Bal>.*?<Cd>(\w+)<\/Cd>.*?<Amt Ccy="CNY">([\d.]+)<\/Amt><CdtDbtInd>(\w+)<\/CdtDbtInd><Dt><Dt>([\d-]+)<\/Dt>/g,
          ),
        ].map(([, code, amount, indicator, date]) => [code, { fen: fen(amount), indicator, date }]),
      );
      const entries = [...xml.matchAll(/<Ntry>(.*?)<\/Ntry>/g)].map(([, entry]) => ({
        amount: /<Amt Ccy="CNY">([\d.]+)<\/Amt>/.exec(entry)![1],
        indicator: /<CdtDbtInd>(\w+)<\/CdtDbtInd>/.exec(entry)![1],
        status: /<Sts><Cd>(\w+)<\/Cd><\/Sts>/.exec(entry)?.[1],
        bankRef: /<AcctSvcrRef>([^<]+)<\/AcctSvcrRef>/.exec(entry)?.[1],
        endToEndId: /<EndToEndId>([^<]+)<\/EndToEndId>/.exec(entry)?.[1],
        valueDate: /<ValDt><Dt>([\d-]+)<\/Dt><\/ValDt>/.exec(entry)?.[1],
      }));
      const summary = (tag: string) => {
        const block = new RegExp(
          `<${tag}><NbOfNtries>(\\d+)</NbOfNtries><Sum>([\\d.]+)</Sum>`,
        ).exec(xml)!;
        return { count: Number(block[1]), sumFen: fen(block[2]) };
      };
      return {
        balances,
        entries,
        total: summary('TtlNtries'),
        credits: summary('TtlCdtNtries'),
        debits: summary('TtlDbtNtries'),
        sequence: Number(/<ElctrncSeqNb>(\d+)<\/ElctrncSeqNb>/.exec(xml)![1]),
      };
    };

    it('camt.053: opening + credits − debits = closing, summary = entries, references kept', async () => {
      const xml = (await gateway.fetchStatement(custody, today, today, 'camt053')).toString('utf8');
      expect(xml).toContain('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">');
      expect(xml).toContain(`<Acct><Id><Othr><Id>${custody}</Id></Othr></Id><Ccy>CNY</Ccy>`);
      const camt = parseCamt(xml);

      expect(camt.balances.OPBD).toEqual({ fen: 0, indicator: 'CRDT', date: today });
      expect(camt.balances.CLBD).toEqual({ fen: 10_000_123_399, indicator: 'CRDT', date: today });
      expect(camt.entries.map((e) => [e.amount, e.indicator])).toEqual([
        ['1234.05', 'CRDT'],
        ['0.05', 'CRDT'],
        ['99999999.99', 'CRDT'],
        ['0.10', 'DBIT'],
      ]);
      const credited = camt.entries.filter((e) => e.indicator === 'CRDT');
      const debited = camt.entries.filter((e) => e.indicator === 'DBIT');
      const sum = (list: typeof camt.entries) => list.reduce((s, e) => s + fen(e.amount), 0);
      expect(camt.balances.OPBD.fen + sum(credited) - sum(debited)).toBe(camt.balances.CLBD.fen);
      expect(camt.total).toEqual({ count: 4, sumFen: sum(camt.entries) });
      expect(camt.credits).toEqual({ count: 3, sumFen: sum(credited) });
      expect(camt.debits).toEqual({ count: 1, sumFen: sum(debited) });
      expect(xml).toContain('<TtlNetNtry><Amt>100001233.99</Amt><CdtDbtInd>CRDT</CdtDbtInd>');
      expect(camt.entries.map((e) => e.endToEndId)).toEqual([...references, endToEndId]);
      expect(camt.entries.every((e) => e.status === 'BOOK' && e.valueDate === today)).toBe(true);
      expect(new Set(camt.entries.map((e) => e.bankRef)).size).toBe(4);
      expect(camt.sequence).toBe(Date.parse(`${today}T00:00:00Z`) / DAY_MS);
      expect(xml).toContain('<Cdtr><Pty><Nm>龙泉驿区明德培训学校</Nm></Pty></Cdtr>');
    });

    it('camt.053: opening balance is the balance before `from`, closing the one after `to`', async () => {
      const yesterday = parseCamt(
        (await gateway.fetchStatement(custody, chinaDay(-1), chinaDay(-1), 'camt053')).toString(),
      );
      expect(yesterday.entries).toHaveLength(0);
      expect([yesterday.balances.OPBD.fen, yesterday.balances.CLBD.fen]).toEqual([0, 0]);
      const tomorrow = parseCamt(
        (await gateway.fetchStatement(custody, chinaDay(1), chinaDay(1), 'camt053')).toString(),
      );
      expect(tomorrow.entries).toHaveLength(0);
      expect(tomorrow.balances.OPBD.fen).toBe(10_000_123_399);
      expect(tomorrow.balances.CLBD.fen).toBe(10_000_123_399);
      const week = parseCamt(
        (await gateway.fetchStatement(custody, chinaDay(-3), chinaDay(3), 'camt053')).toString(),
      );
      expect(week.entries).toHaveLength(4);
    });

    it('CSV: the Chinese bank header, one row per movement, running balance, exact amounts', async () => {
      const response = await request(sandbox.bank.url)
        .get(`/sandbox/statements/${custody}?from=${today}&to=${today}&format=csv`)
        .expect(200);
      expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
      const lines = response.text.trimEnd().split('\r\n');
      expect(lines[0]).toBe(CSV_HEADER);
      const rows = lines.slice(1).map((line) => line.split(','));
      expect(rows).toHaveLength(4);
      expect(rows.map((r) => [r[2], r[3], r[4]])).toEqual([
        ['', '1234.05', '1234.05'],
        ['', '0.05', '1234.10'],
        ['', '99999999.99', '100001234.09'],
        ['0.10', '', '100001233.99'],
      ]);
      expect(rows.map((r) => r[9])).toEqual([...references, endToEndId]);
      expect(rows.every((r) => r[0] === today && /^\d{2}:\d{2}:\d{2}$/.test(r[1]))).toBe(true);
      expect(rows.every((r) => /^SBX/.test(r[8]))).toBe(true);

      const viaGateway = await gateway.fetchStatement(custody, today, today, 'csv');
      expect(viaGateway.toString('utf8').split('\r\n')[0]).toBe(CSV_HEADER);
    });
  });

  describe('HttpBankGateway errors', () => {
    it('maps a 4xx to BankRejectedError', async () => {
      const invalid = instruction(custodyNo(), 0);
      const error = await gateway.submitTransfer(invalid).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BankRejectedError);
      expect((error as Error).message).toMatch(/400 VALIDATION_FAILED/);
      // An EndToEndId longer than ISO 20022's 35 characters (a UUID with its hyphens has 36).
      const hyphenated = instruction(custodyNo(), 100, { endToEndId: randomUUID() });
      await expect(gateway.submitTransfer(hyphenated)).rejects.toThrow(/endToEndId/);
      await expect(
        gateway.fetchStatement(custodyNo(), chinaDay(0), chinaDay(0), 'camt053'),
      ).rejects.toThrow(BankRejectedError);
      await expect(
        gateway.fetchStatement(custodyNo(), chinaDay(0), chinaDay(-1), 'csv'),
      ).rejects.toThrow(BankRejectedError);
    });

    it('a second sandbox on a taken port fails to start (and the schema may be created twice)', async () => {
      const { port } = new URL(sandbox.bank.url);
      await expect(
        startSandboxBank({
          port: Number(port),
          databaseUrl: sandbox.databaseUrl,
          notifyUrl: sandbox.receiver.url,
          webhookSecret: 'unused-secret-0123456789',
          logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
        }),
      ).rejects.toThrow(/EADDRINUSE/);
    });

    it('maps an unreachable bank to BankUnavailableError', async () => {
      const nowhere = new HttpBankGateway({ apiUrl: 'http://127.0.0.1:9', timeoutMs: 1_000 });
      await expect(nowhere.getTransfer('X1')).rejects.toThrow(BankUnavailableError);
      await expect(nowhere.submitTransfer(instruction(custodyNo(), 1))).rejects.toThrow(
        BankUnavailableError,
      );
    });
  });
});
