/**
 * Redis carries only queues: with Redis down a refund is still requested, approved and stored,
 * and once Redis is back the sweeper hands the stored instruction to the worker, which pays it.
 * Runs its own Redis server on a free port, so the rest of the run is undisturbed.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import request from 'supertest';
import { BankInstructionsService } from '../../src/bank/bank-instructions.service';
import { createPaidOrder } from '../support/factories';
import { FakeBankGateway } from '../support/fake-bank-gateway';
import { expectInstitutionInvariant } from '../support/invariant';
import { LedgerTestApp, createBankDoubleTestApp } from '../support/ledger-app';
import { eventually } from '../support/waiting';
import { freePort } from '../../src/common/net/free-port';

async function startRedis(port: number): Promise<ChildProcess> {
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await eventually(
    () =>
      new Promise<true | undefined>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.on('connect', () => (socket.end(), resolve(true)));
        socket.on('error', () => resolve(undefined));
      }),
    { timeoutMs: 10_000 },
  );
  return redis;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('refunds while Redis is down', () => {
  let t: LedgerTestApp;
  let redis: ChildProcess;
  let port: number;
  const bank = new FakeBankGateway();

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    t = await createBankDoubleTestApp(bank, { REDIS_URL: `redis://127.0.0.1:${port}` });
  });

  afterAll(async () => {
    await t.close();
    if (redis.exitCode === null) await stop(redis);
  });

  it('accepts and stores the refund, and pays it once Redis is back', async () => {
    const { dataSource, as } = t;
    const { school, order } = await createPaidOrder(dataSource);

    await stop(redis);
    const requested = await request(t.http)
      .post(`/v1/orders/${order.id}/refunds`)
      .set('Authorization', as.parent(order.parentId))
      .send({ reason: 'before_start' })
      .expect(202);
    const approved = await request(t.http)
      .post(`/v1/refunds/${requested.body.id}/approve`)
      .set('Authorization', as.institution(school.institution))
      .expect(200);
    expect(approved.body).toMatchObject({ status: 'approved', amountFen: 40_000 });
    const [stored] = await dataSource.query('SELECT status FROM bank_instructions WHERE id = $1', [
      approved.body.instructionId,
    ]);
    expect(stored.status).toBe('pending');
    expect(bank.calls).toBe(0);

    redis = await startRedis(port);
    await dataSource.query(
      `UPDATE bank_instructions SET updated_at = now() - interval '1 minute' WHERE id = $1`,
      [approved.body.instructionId],
    );
    await eventually(
      () =>
        t.app
          .get(BankInstructionsService)
          .sweep(30_000, school.institution.id)
          .then(() => true),
      { timeoutMs: 20_000 },
    );
    await eventually(
      async () => {
        const [refund] = await dataSource.query('SELECT status FROM refunds WHERE id = $1', [
          requested.body.id,
        ]);
        return refund.status === 'paid' ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(bank.executed.has(approved.body.instructionId)).toBe(true);
    const [{ n }] = await dataSource.query(
      'SELECT count(*)::int AS n FROM ledger_transactions WHERE reference = $1',
      [`instruction:${approved.body.instructionId}:paid`],
    );
    expect(n).toBe(1);
    await expectInstitutionInvariant(dataSource, school.institution.id);
  });
});
