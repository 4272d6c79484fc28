/**
 * Sealing the ledger into a hash chain, and finding tampering done in plain SQL with the
 * triggers off. Runs in a database of its own: tampering with the shared one would upset the
 * books checks of the test files running beside it.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { blockHash } from '../../src/audit/sealing/canonical';
import { readHead } from '../../src/audit/sealing/chain';
import { digestHex } from '../../src/audit/sealing/hashing';
import { SealLedger } from '../../src/audit/sealing/seal-ledger';
import { verifyLedger } from '../../src/cli/verify-ledger';
import { TestApp, createTestApp } from '../support/app';
import { canonicalTransaction } from '../support/canonical-transaction';
import { InstitutionFixture, createInstitution, tokens } from '../support/factories';
import { createThrowawayDatabase, ledger, recordLesson, schoolWithOrders } from './support';

const run = promisify(execFile);

/** How long a foreign transaction may hold the sealing horizon before a test gives up. */
const HORIZON_WAIT_MS = 150_000;
jest.setTimeout(HORIZON_WAIT_MS + 30_000);

interface TransactionKey {
  id: string;
  seq: string;
  created_xid: string;
}

describe('ledger sealing and integrity (own database)', () => {
  let database: { url: string; drop: () => Promise<void> };
  let t: TestApp;
  let dataSource: DataSource;
  let sealer: SealLedger;
  let auditor: string;
  let school: InstitutionFixture;

  beforeAll(async () => {
    database = await createThrowawayDatabase('seal');
    t = await createTestApp({ DATABASE_URL: database.url });
    dataSource = t.app.get(DataSource);
    sealer = t.app.get(SealLedger);
    const built = await schoolWithOrders(dataSource, 3);
    school = built.school;
    for (const [i, order] of built.orders.entries()) {
      await recordLesson(dataSource, school, order, 1, {
        status: i === 1 ? 'disputed' : 'confirmed',
      });
    }
    auditor = tokens(t.config).auditor(school.institution.districtId);
  });

  afterAll(async () => {
    await t?.close();
    await database?.drop();
  });

  /** Transactions by sealing key, oldest first. */
  const transactions = (): Promise<TransactionKey[]> =>
    dataSource.query(
      `SELECT id, seq::text, created_xid::text FROM ledger_transactions ORDER BY created_xid, seq`,
    );

  const unsealed = async () =>
    (
      await dataSource.query(`SELECT count(*)::int AS n FROM ledger_transactions t
        WHERE NOT EXISTS (SELECT 1 FROM ledger_seal_blocks b
                          WHERE (b.last_xid, b.last_seq) >= (t.created_xid, t.seq))`)
    )[0].n as number;

  /**
   * Seals until nothing is left. The horizon is the whole server's: a write transaction open in
   * any database of the server (another test file, a benchmark) holds sealing back until it ends.
   */
  async function sealAll(options: Parameters<SealLedger['run']>[0] = {}) {
    const deadline = Date.now() + HORIZON_WAIT_MS;
    while ((await unsealed()) > 0) {
      if (Date.now() > deadline) throw new Error('sealing did not catch up');
      const summary = await sealer.run(options);
      if (summary.blocks === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const integrity = async (query = '') =>
    (
      await request(t.http)
        .get(`/v1/audit/integrity${query}`)
        .set('Authorization', auditor)
        .expect(200)
    ).body;

  /** Height of the block that holds a transaction. */
  const blockOf = async (tx: TransactionKey) =>
    Number(
      (
        await dataSource.query(
          `SELECT height FROM ledger_seal_blocks WHERE (last_xid, last_seq) >= ($1::xid8, $2::bigint)
           ORDER BY last_xid, last_seq LIMIT 1`,
          [tx.created_xid, tx.seq],
        )
      )[0].height,
    );

  /** Runs statements with every trigger of the ledger tables off, as an intruder would. */
  async function tamper(...statements: [string, unknown[]?][]) {
    await dataSource.transaction(async (manager) => {
      for (const table of ['ledger_postings', 'ledger_transactions', 'ledger_seal_blocks']) {
        await manager.query(`ALTER TABLE ${table} DISABLE TRIGGER ALL`);
      }
      for (const [sql, params] of statements) await manager.query(sql, params);
      for (const table of ['ledger_postings', 'ledger_transactions', 'ledger_seal_blocks']) {
        await manager.query(`ALTER TABLE ${table} ENABLE TRIGGER ALL`);
      }
    });
  }

  it('seals every committed transaction into a verifiable chain of blocks', async () => {
    expect((await integrity()).blocks).toBe(0);
    await sealAll({ blockSize: 2 });
    const all = await transactions();
    // 3 payments, 3 holds, 2 releases.
    expect(all).toHaveLength(8);
    const report = await integrity();
    expect(report).toMatchObject({
      ok: true,
      blocks: 4,
      transactions: 8,
      badBlocks: 0,
      unsealedTransactions: 0,
      orphanPostings: 0,
      algorithm: 'sm3',
      head: { height: 4, algorithm: 'sm3', transactionCount: 2 },
    });
    expect(report.firstBadBlock).toBeUndefined();
    expect(report.head.blockHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('stores blocks whose hashes an outsider can recompute with SM3', async () => {
    const [block] = await dataSource.query(
      `SELECT height::text, format, algorithm, first_xid::text, first_seq::text, last_xid::text,
              last_seq::text, transaction_count, posting_count, transactions_hash, previous_hash,
              block_hash, to_char(sealed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS sealed_at
       FROM ledger_seal_blocks WHERE height = 1`,
    );
    expect(block.previous_hash).toBe('0'.repeat(64));
    expect(
      blockHash({
        height: block.height,
        format: block.format,
        algorithm: block.algorithm,
        firstKey: { xid: block.first_xid, seq: block.first_seq },
        lastKey: { xid: block.last_xid, seq: block.last_seq },
        transactionCount: block.transaction_count,
        postingCount: block.posting_count,
        transactionsHash: block.transactions_hash,
        previousHash: block.previous_hash,
        sealedAt: block.sealed_at,
      }),
    ).toBe(block.block_hash);
    const [second] = await dataSource.query(
      'SELECT previous_hash FROM ledger_seal_blocks WHERE height = 2',
    );
    expect(second.previous_hash).toBe(block.block_hash);
    // The canonical form is plain JSON an auditor can rebuild from a SQL dump.
    const line = canonicalTransaction({
      row: {
        seq: '1',
        id: 'x',
        created_xid: '7',
        kind: 'payment_received',
        reference: 'r',
        institution_id: 'i',
        pending_id: null,
        resolution: null,
        reversal_of: null,
        manual: false,
        created_at: '2026-01-01T00:00:00.000000Z',
        effective_at: '2026-01-01T00:00:00.000000Z',
        metadata: '{}',
      },
      postings: [],
    });
    expect(digestHex('sm3', line)).toHaveLength(64);
  });

  it('refuses UPDATE and DELETE of seal blocks', async () => {
    await expect(dataSource.query('DELETE FROM ledger_seal_blocks')).rejects.toThrow(/append-only/);
    await expect(
      dataSource.query("UPDATE ledger_seal_blocks SET block_hash = repeat('0', 64)"),
    ).rejects.toThrow(/append-only/);
  });

  describe('finds tampering done with the triggers off, and the block it is in', () => {
    let target: TransactionKey;
    let height: number;

    beforeAll(async () => {
      // A transaction in the middle of the chain.
      target = (await transactions())[4];
      height = await blockOf(target);
      expect(height).toBe(3);
    });

    afterEach(async () => {
      // Every case puts the rows back exactly: the chain must verify again.
      expect(await integrity()).toMatchObject({ ok: true, badBlocks: 0 });
    });

    const postingsOf = (transactionId: string) =>
      dataSource.query<{ row: string; id: string }[]>(
        'SELECT row_to_json(p)::text AS row, id::text FROM ledger_postings p WHERE transaction_id = $1 ORDER BY id',
        [transactionId],
      );

    const restore = (row: string): [string, unknown[]] => [
      `INSERT INTO ledger_postings OVERRIDING SYSTEM VALUE
       SELECT * FROM json_populate_record(NULL::ledger_postings, $1::json)`,
      [row],
    ];

    it('a changed amount', async () => {
      const [posting] = await postingsOf(target.id);
      await tamper([
        'UPDATE ledger_postings SET amount = amount + 100 WHERE id = $1',
        [posting.id],
      ]);
      const report = await integrity();
      expect(report).toMatchObject({
        ok: false,
        badBlocks: 1,
        firstBadBlock: { height, reason: 'transactions_changed' },
      });
      expect(report.blocks).toBe(4);
      await tamper([
        'UPDATE ledger_postings SET amount = amount - 100 WHERE id = $1',
        [posting.id],
      ]);
    });

    it('a changed running total (what balances at an instant read)', async () => {
      const [posting] = await postingsOf(target.id);
      await tamper([
        'UPDATE ledger_postings SET posted_credits_after = posted_credits_after + 1 WHERE id = $1',
        [posting.id],
      ]);
      expect((await integrity()).firstBadBlock).toMatchObject({ height });
      await tamper([
        'UPDATE ledger_postings SET posted_credits_after = posted_credits_after - 1 WHERE id = $1',
        [posting.id],
      ]);
    });

    it('a deleted posting', async () => {
      const [posting] = await postingsOf(target.id);
      await tamper(['DELETE FROM ledger_postings WHERE id = $1', [posting.id]]);
      expect(await integrity()).toMatchObject({
        ok: false,
        firstBadBlock: { height, reason: 'transactions_changed' },
      });
      await tamper(restore(posting.row));
    });

    it('an inserted posting', async () => {
      const [first] = await dataSource.query(
        'SELECT id FROM ledger_transactions ORDER BY seq LIMIT 1',
      );
      const firstHeight = await blockOf((await transactions()).find((tx) => tx.id === first.id)!);
      await tamper([
        `INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
         VALUES ($1, $2, 'posted', 500)`,
        [first.id, school.accounts.custody_cash],
      ]);
      expect(await integrity()).toMatchObject({
        ok: false,
        firstBadBlock: { height: firstHeight, reason: 'transactions_changed' },
      });
      await tamper([
        `DELETE FROM ledger_postings WHERE transaction_id = $1 AND amount = 500`,
        [first.id],
      ]);
    });

    it('a deleted transaction', async () => {
      const postings = await postingsOf(target.id);
      const [tx] = await dataSource.query(
        'SELECT row_to_json(t)::text AS row FROM ledger_transactions t WHERE id = $1',
        [target.id],
      );
      await tamper(
        ['DELETE FROM ledger_postings WHERE transaction_id = $1', [target.id]],
        ['DELETE FROM ledger_transactions WHERE id = $1', [target.id]],
      );
      expect(await integrity()).toMatchObject({
        ok: false,
        firstBadBlock: { height, reason: 'transactions_missing_or_added' },
      });
      await tamper(
        [
          `INSERT INTO ledger_transactions OVERRIDING SYSTEM VALUE
           SELECT * FROM json_populate_record(NULL::ledger_transactions, $1::json)`,
          [tx.row],
        ],
        ...postings.map((posting) => restore(posting.row)),
      );
    });

    it('a rewritten block, and the chain after it', async () => {
      const [block] = await dataSource.query(
        'SELECT block_hash FROM ledger_seal_blocks WHERE height = 2',
      );
      await tamper(["UPDATE ledger_seal_blocks SET block_hash = repeat('a', 64) WHERE height = 2"]);
      expect(await integrity()).toMatchObject({
        ok: false,
        badBlocks: 2,
        firstBadBlock: { height: 2, reason: 'block_hash_mismatch' },
      });
      await tamper([
        'UPDATE ledger_seal_blocks SET block_hash = $1 WHERE height = 2',
        [block.block_hash],
      ]);
    });

    it('a posting of no transaction', async () => {
      await tamper([
        `INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
         VALUES ($1, $2, 'posted', 700)`,
        [randomUUID(), school.accounts.custody_cash],
      ]);
      const report = await integrity();
      expect(report).toMatchObject({ ok: false, orphanPostings: 1, badBlocks: 0 });
      expect(report.firstBadBlock).toBeUndefined();
      await tamper([
        'DELETE FROM ledger_postings p WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = p.transaction_id)',
      ]);
    });

    it('verifies offline with npm run verify-ledger, reading only the database', async () => {
      const [posting] = await postingsOf(target.id);
      expect(await verifyLedger(['--database-url', database.url])).toMatchObject({ ok: true });
      await tamper(['UPDATE ledger_postings SET amount = amount + 1 WHERE id = $1', [posting.id]]);
      const cli = join(__dirname, '..', '..', 'src', 'cli', 'verify-ledger.ts');
      const outcome = await run(
        process.execPath,
        [
          require.resolve('ts-node/dist/bin'),
          '--transpile-only',
          cli,
          '--database-url',
          database.url,
        ],
        { cwd: join(__dirname, '..', '..') },
      ).then(
        () => ({ code: 0, stdout: '' }),
        (error: { code: number; stdout: string }) => error,
      );
      expect(outcome.code).toBe(2);
      expect(JSON.parse(outcome.stdout)).toMatchObject({
        ok: false,
        firstBadBlock: { height, reason: 'transactions_changed' },
      });
      await tamper(['UPDATE ledger_postings SET amount = amount - 1 WHERE id = $1', [posting.id]]);
    });

    it('verifies a range of blocks', async () => {
      expect(await integrity('?fromHeight=2&toHeight=3')).toMatchObject({
        ok: true,
        blocks: 2,
        head: { height: 3 },
        orphanPostings: null,
      });
      await request(t.http)
        .get('/v1/audit/integrity?fromHeight=0')
        .set('Authorization', auditor)
        .expect(400);
      await request(t.http)
        .get('/v1/audit/integrity?fromHeight=3&toHeight=2')
        .set('Authorization', auditor)
        .expect(400);
    });
  });

  describe('commit order', () => {
    /**
     * A ledger transaction on its own connection, left open until `commit`; on an institution of
     * its own, so that it locks no account another one needs.
     */
    async function openTransfer(options: { takeXidFirst?: boolean } = {}) {
      const own = await createInstitution(dataSource);
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      await runner.startTransaction();
      if (options.takeXidFirst) await runner.query('SELECT pg_current_xact_id()');
      const post = () =>
        ledger.post(runner.manager, {
          kind: 'manual_adjustment',
          reference: `open:${randomUUID()}`,
          institutionId: own.institution.id,
          transfers: [
            {
              debitAccountId: own.accounts.custody_cash,
              creditAccountId: own.accounts.suspense,
              amountFen: 1,
            },
          ],
        });
      return {
        post,
        commit: async () => {
          await runner.commitTransaction();
          await runner.release();
        },
      };
    }

    const keyOf = async (id: string): Promise<TransactionKey> =>
      (
        await dataSource.query(
          'SELECT id, seq::text, created_xid::text FROM ledger_transactions WHERE id = $1',
          [id],
        )
      )[0];

    const isSealed = async (tx: TransactionKey) =>
      (
        await dataSource.query(
          'SELECT 1 FROM ledger_seal_blocks WHERE (last_xid, last_seq) >= ($1::xid8, $2::bigint)',
          [tx.created_xid, tx.seq],
        )
      ).length > 0;

    it('never skips a transaction that commits after a later one was written', async () => {
      await sealAll();
      const early = await openTransfer();
      const earlyId = await early.post(); // lower seq, still open
      const late = await openTransfer();
      const lateId = await late.post(); // higher seq
      await late.commit();
      await sealer.run();
      const lateKey = await keyOf(lateId);
      expect(await isSealed(lateKey)).toBe(false); // held back while the earlier one is open
      await early.commit();
      await sealAll();
      const earlyKey = await keyOf(earlyId);
      expect(await isSealed(earlyKey)).toBe(true);
      expect(await isSealed(lateKey)).toBe(true);
      expect(await integrity()).toMatchObject({ ok: true, unsealedTransactions: 0 });
    });

    it('seals by writing transaction when seq and transaction ids disagree', async () => {
      await sealAll();
      const older = await openTransfer({ takeXidFirst: true }); // lower transaction id
      const younger = await openTransfer({ takeXidFirst: true });
      const youngerId = await younger.post(); // lower seq
      await younger.commit();
      const olderId = await older.post(); // higher seq, lower xid, still open
      await sealer.run();
      expect(await isSealed(await keyOf(youngerId))).toBe(false);
      await older.commit();
      await sealAll();
      const [olderKey, youngerKey] = [await keyOf(olderId), await keyOf(youngerId)];
      expect(BigInt(olderKey.seq)).toBeGreaterThan(BigInt(youngerKey.seq));
      expect(BigInt(olderKey.created_xid)).toBeLessThan(BigInt(youngerKey.created_xid));
      expect(await isSealed(olderKey)).toBe(true);
      expect(await isSealed(youngerKey)).toBe(true);
      expect(await integrity()).toMatchObject({ ok: true, unsealedTransactions: 0 });
    });
  });

  it('lets concurrent sealers share the work without forking or sealing twice', async () => {
    for (let i = 0; i < 30; i++) {
      await dataSource.transaction((manager) =>
        ledger.post(manager, {
          kind: 'manual_adjustment',
          reference: `conc:${randomUUID()}`,
          institutionId: school.institution.id,
          transfers: [
            {
              debitAccountId: school.accounts.custody_cash,
              creditAccountId: school.accounts.suspense,
              amountFen: 1,
            },
          ],
        }),
      );
    }
    // Waves of four sealers at once until everything is sealed: none fails, none forks.
    const deadline = Date.now() + HORIZON_WAIT_MS;
    while ((await unsealed()) > 0 && Date.now() < deadline) {
      await Promise.all(Array.from({ length: 4 }, () => sealer.run({ blockSize: 3 })));
    }
    expect(await unsealed()).toBe(0);
    const [{ sealed, count }] = await dataSource.query(
      `SELECT (SELECT sum(transaction_count)::int FROM ledger_seal_blocks) AS sealed,
              (SELECT count(*)::int FROM ledger_transactions) AS count`,
    );
    expect(sealed).toBe(count);
    expect(await integrity()).toMatchObject({ ok: true, transactions: count });
  });

  it('keeps a chain verifiable across a change of algorithm, SHA-256 to SM3', async () => {
    for (const algorithm of ['sha256', 'sm3'] as const) {
      await dataSource.transaction((manager) =>
        ledger.post(manager, {
          kind: 'manual_adjustment',
          reference: `alg:${randomUUID()}`,
          institutionId: school.institution.id,
          transfers: [
            {
              debitAccountId: school.accounts.custody_cash,
              creditAccountId: school.accounts.suspense,
              amountFen: 1,
            },
          ],
        }),
      );
      await sealAll({ algorithm });
      expect((await readHead((text, params) => dataSource.query(text, params)))?.algorithm).toBe(
        algorithm,
      );
    }
    const algorithms = await dataSource.query(
      'SELECT DISTINCT algorithm FROM ledger_seal_blocks ORDER BY algorithm',
    );
    expect(algorithms.map((row: { algorithm: string }) => row.algorithm)).toEqual([
      'sha256',
      'sm3',
    ]);
    expect(await integrity()).toMatchObject({ ok: true });
  });
});
