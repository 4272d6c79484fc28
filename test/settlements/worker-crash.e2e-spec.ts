/**
 * A worker process killed after the bank executed a transfer but before the database heard of
 * it: the restarted worker asks the bank again with the same instruction id, and the money moves
 * exactly once. Real processes: the sandbox bank, and workers started and killed with SIGKILL.
 */
import Bull from 'bull';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { JobName, QueueName } from '../../src/queues/queues';
import { BankInstructionsService } from '../../src/bank/bank-instructions.service';
import {
  TestSandbox,
  TEST_WEBHOOK_SECRET,
  payIntoCustody,
  startTestSandbox,
} from '../sandbox-bank/sandbox-harness';
import { TestApp, createTestApp } from '../support/app';
import { createPaidOrder, tokens } from '../support/factories';
import { expectInstitutionInvariant } from '../support/invariant';
import { eventually } from '../support/waiting';

jest.setTimeout(180_000);

describe('a worker killed between the bank call and the database update', () => {
  let sandbox: TestSandbox;
  let t: TestApp;
  let queue: Bull.Queue;
  const workers: ChildProcess[] = [];
  const workerPrefix = `${process.env.QUEUE_PREFIX}_crash_${randomBytes(3).toString('hex')}`;

  function startWorker(): ChildProcess {
    const worker = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(__dirname, '../../src/worker.ts')],
      {
        cwd: join(__dirname, '../..'),
        env: {
          ...process.env,
          NODE_ENV: 'test',
          QUEUE_PREFIX: workerPrefix,
          BANK_MODE: 'http',
          BANK_API_URL: sandbox.bank.url,
          BANK_TIMEOUT_MS: '120000',
          BANK_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
        },
        stdio: 'ignore',
      },
    );
    workers.push(worker);
    return worker;
  }

  const kill = (worker: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (worker.exitCode !== null || worker.signalCode !== null) return resolve();
      worker.once('exit', () => resolve());
      worker.kill('SIGKILL');
    });

  beforeAll(async () => {
    // The bank's notifications go to a recorder, not the service: only the worker can complete.
    // A hung answer outlasts the moment the test kills the worker, and no more.
    sandbox = await startTestSandbox({ hangMs: 30_000 });
    t = await createTestApp({
      BANK_API_URL: sandbox.bank.url,
      BANK_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    });
    queue = new Bull(QueueName.BankInstructions, t.config.redisUrl, { prefix: workerPrefix });
  });

  afterAll(async () => {
    await Promise.all(workers.map(kill));
    await queue.close();
    await t.close();
    await sandbox.close();
  });

  it('pays exactly once after the restart', async () => {
    const dataSource = t.app.get(DataSource);
    const { school, order } = await createPaidOrder(dataSource, { released: 2 });
    // The bank holds the parent's payment in the custody account too.
    await payIntoCustody(sandbox, school.custodyAccountNo, order, {
      bankCode: 'CMB',
      accountNo: '6214000011112222',
      accountName: 'Parent',
    });

    // The batch and its instruction are written; the job goes to the crash-test workers' queue.
    jest.spyOn(t.app.get(BankInstructionsService), 'enqueue').mockResolvedValueOnce(undefined);
    const run = await request(t.http)
      .post('/v1/settlements/run')
      .set('Authorization', tokens(t.config).operator(school.institution.districtId))
      .expect(202);
    const [batch] = run.body.batches;
    const instructionId: string = batch.instructionId;

    // The bank will execute the next transfer and then never answer.
    await request(sandbox.bank.url)
      .post('/sandbox/faults')
      .send({ timeoutNext: 1, timeoutMode: 'after_work' })
      .expect((response) => expect(response.status).toBeLessThan(300));
    await queue.add(
      JobName.SubmitInstruction,
      { instructionId },
      { jobId: instructionId, attempts: 5, backoff: 100 },
    );

    const first = startWorker();
    // Watch the bank's books through /sandbox routes, which faults never touch.
    const debitsAtBank = async () =>
      (
        (
          await request(sandbox.bank.url)
            .get(`/sandbox/accounts/${school.custodyAccountNo}`)
            .expect(200)
        ).body.movements as { direction: string }[]
      ).filter((movement) => movement.direction === 'debit');
    await eventually(async () => ((await debitsAtBank()).length === 1 ? true : undefined), {
      timeoutMs: 60_000,
      everyMs: 200,
    });
    const status = async () =>
      (
        await dataSource.query('SELECT status FROM bank_instructions WHERE id = $1', [
          instructionId,
        ])
      )[0].status as string;
    // Executed at the bank, unknown to the ledger: this is the moment to die.
    expect(await status()).toBe('submitted');
    await kill(first);

    startWorker();
    await eventually(async () => ((await status()) === 'succeeded' ? true : undefined), {
      timeoutMs: 120_000,
      everyMs: 250,
    });

    expect(await debitsAtBank()).toHaveLength(1);
    const [{ n }] = await dataSource.query(
      `SELECT count(*)::int AS n FROM ledger_transactions WHERE reference = $1`,
      [`instruction:${instructionId}:paid`],
    );
    expect(n).toBe(1);
    const [paid] = await dataSource.query('SELECT status FROM settlement_batches WHERE id = $1', [
      batch.id,
    ]);
    expect(paid.status).toBe('paid');
    await expectInstitutionInvariant(dataSource, school.institution.id);
  });
});
