/**
 * PostgreSQL builds the canonical lines the sealer hashes (format v1); these tests hold them to
 * the JavaScript reference, byte for byte, on data chosen to trip JSON escaping, and check that a
 * chain sealed from JavaScript lines still verifies. In a database of its own: it writes a
 * transaction without postings and seal blocks of its own.
 */
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  BlockHeader,
  ORIGIN_KEY,
  SEAL_FORMAT,
  SELECT_TRANSACTION_LINES,
  TransactionLine,
  keyOf,
} from '../../src/audit/sealing/canonical';
import {
  Sql,
  appendBlock,
  countUnsealed,
  sealNextBlock,
  verifyAtOneInstant,
} from '../../src/audit/sealing/chain';
import { GENESIS_HASH, digestHex } from '../../src/audit/sealing/hashing';
import { cursorTimeSql } from '../../src/common/pagination/cursor';
import { dataSourceOptions } from '../../src/database/data-source';
import { canonicalTransaction, readSealedTransactions } from '../support/canonical-transaction';
import { InstitutionFixture, createInstitution } from '../support/factories';
import { createThrowawayDatabase, ledger } from './support';

/** How long a foreign transaction may hold the sealing horizon before a test gives up. */
const HORIZON_WAIT_MS = 150_000;
jest.setTimeout(HORIZON_WAIT_MS + 30_000);

/** Text that JSON must escape, and text it must pass through as it is. */
const NASTY = 'quote" back\\slash new\nline tab\t cr\r bs\b ff\f \u0001\u001f\u007f 托管 😀 \u2028';

describe('canonical lines built by PostgreSQL (own database)', () => {
  let database: { url: string; drop: () => Promise<void> };
  let dataSource: DataSource;
  let school: InstitutionFixture;
  let sql: Sql;

  beforeAll(async () => {
    database = await createThrowawayDatabase('lines');
    dataSource = await new DataSource(
      dataSourceOptions({ databaseUrl: database.url }),
    ).initialize();
    sql = (text, params) => dataSource.query(text, params);
    school = await createInstitution(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  const transfer = (amountFen = 100) => ({
    debitAccountId: school.accounts.custody_cash,
    creditAccountId: school.accounts.suspense,
    amountFen,
  });

  /** Transactions whose every free-text value, and every nullable column, is put to the test. */
  async function writeNastyTransactions() {
    const tag = randomUUID();
    await dataSource.transaction(async (manager) => {
      const manualId = await ledger.post(manager, {
        kind: 'manual_adjustment',
        reference: `${tag}:${NASTY}`,
        institutionId: school.institution.id,
        transfers: [transfer(), transfer(7)],
        manual: true,
        effectiveAt: new Date('1999-12-31T23:59:59.999Z'),
        metadata: {
          [`key ${NASTY}`]: NASTY,
          nested: { list: [1, 2.5, -3, 1e21, null, true, ''], empty: {} },
          '': '',
        },
      });
      const posted = await ledger.hold(manager, {
        kind: 'lesson_hold',
        reference: `${tag}:hold:post`,
        institutionId: school.institution.id,
        transfers: [transfer(300)],
        metadata: { note: NASTY },
      });
      await ledger.postPending(manager, {
        pendingId: posted,
        kind: 'lesson_release',
        reference: `${tag}:release`,
        metadata: { 中文: '😀', quote: '"' },
      });
      const voided = await ledger.hold(manager, {
        kind: 'lesson_hold',
        reference: `${tag}:hold:void`,
        institutionId: school.institution.id,
        transfers: [transfer(400)],
      });
      await ledger.voidPending(manager, {
        pendingId: voided,
        kind: 'lesson_void',
        reference: `${tag}:void`,
      });
      await ledger.reverse(manager, { transactionId: manualId, reference: `${tag}:reversal` });
    });
    // The ledger refuses a transaction without postings; a verifier must line one up all the same.
    await dataSource.transaction(async (manager) => {
      await manager.query('ALTER TABLE ledger_transactions DISABLE TRIGGER ALL');
      await manager.query(
        `INSERT INTO ledger_transactions (kind, reference, institution_id, metadata)
         VALUES ('manual_adjustment', $1, $2, $3)`,
        [`${tag}:empty\t${NASTY}`, school.institution.id, { [NASTY]: [NASTY] }],
      );
      await manager.query('ALTER TABLE ledger_transactions ENABLE TRIGGER ALL');
    });
  }

  const allLines = async (): Promise<TransactionLine[]> =>
    (await sql(`${SELECT_TRANSACTION_LINES} ORDER BY t.created_xid, t.seq`)) as TransactionLine[];

  /** Block 1 as the sealer wrote it before PostgreSQL built the lines: from JavaScript lines. */
  async function sealTheOldWay(): Promise<void> {
    const transactions = await readSealedTransactions(sql, ORIGIN_KEY);
    const [{ now }] = await dataSource.query(`SELECT ${cursorTimeSql('now()')} AS now`);
    const header: BlockHeader = {
      height: '1',
      format: SEAL_FORMAT,
      algorithm: 'sm3',
      firstKey: keyOf(transactions[0].row),
      lastKey: keyOf(transactions.at(-1)!.row),
      transactionCount: transactions.length,
      postingCount: transactions.reduce((n, tx) => n + tx.postings.length, 0),
      transactionsHash: digestHex(
        'sm3',
        transactions.map((tx) => `${canonicalTransaction(tx)}\n`).join(''),
      ),
      previousHash: GENESIS_HASH,
      sealedAt: now,
    };
    await appendBlock(sql, header);
  }

  /**
   * Seals with the service's code until nothing is left. The horizon is the whole server's: a
   * write transaction open in another test file's database holds sealing back until it ends.
   */
  async function sealAll() {
    const deadline = Date.now() + HORIZON_WAIT_MS;
    while ((await countUnsealed(sql)) > 0) {
      if (Date.now() > deadline) throw new Error('sealing did not catch up');
      const block = await dataSource.transaction((manager) =>
        sealNextBlock((text, params) => manager.query(text, params), {
          algorithm: 'sm3',
          blockSize: 4,
        }),
      );
      if (!block) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('builds each line byte for byte as canonicalTransaction does', async () => {
    await writeNastyTransactions();
    const lines = await allLines();
    const transactions = await readSealedTransactions(sql, ORIGIN_KEY);
    // The data covers what it claims to.
    const rows = transactions.map((tx) => tx.row);
    expect(rows.some((row) => row.manual)).toBe(true);
    expect(rows.some((row) => row.reference.includes(NASTY))).toBe(true);
    expect(rows.some((row) => row.metadata.includes('\\u0001'))).toBe(true);
    expect(new Set(rows.map((row) => row.resolution))).toEqual(new Set([null, 'post', 'void']));
    expect(rows.some((row) => row.pending_id === null)).toBe(true);
    expect(rows.some((row) => row.reversal_of !== null)).toBe(true);
    expect(transactions.map((tx) => tx.postings.length)).toContain(0);

    expect(lines.map((line) => line.line)).toEqual(transactions.map(canonicalTransaction));
    expect(lines.map((line) => line.posting_count)).toEqual(
      transactions.map((tx) => tx.postings.length),
    );
    expect(lines.at(-1)!.line.endsWith(',[]]')).toBe(true);
  });

  it('verifies blocks sealed from JavaScript lines, and seals blocks they rebuild', async () => {
    await writeNastyTransactions();
    await sealTheOldWay();
    await writeNastyTransactions();
    await sealAll();
    const report = await verifyAtOneInstant(dataSource);
    expect(report).toMatchObject({ ok: true, badBlocks: 0, unsealedTransactions: 0 });
    expect(report.blocks).toBeGreaterThan(1);
    // Each of the new sealer's blocks, rebuilt from the columns with the reference.
    const blocks = await dataSource.query(
      `SELECT height, first_xid::text, first_seq::text, last_xid::text, last_seq::text,
              transactions_hash
       FROM ledger_seal_blocks ORDER BY height`,
    );
    let after = ORIGIN_KEY;
    for (const block of blocks) {
      const through = { xid: block.last_xid, seq: block.last_seq };
      const transactions = await readSealedTransactions(sql, after, through);
      expect(
        digestHex('sm3', transactions.map((tx) => `${canonicalTransaction(tx)}\n`).join('')),
      ).toBe(block.transactions_hash);
      after = through;
    }
  });
});
