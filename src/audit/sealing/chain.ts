/**
 * Sealing and verifying the hash chain over ledger transactions, in plain SQL through a `Sql`
 * function, so that the service and the offline `verify-ledger` command run the very same code
 * and need nothing but the database.
 *
 * Block n covers every ledger transaction whose key (created_xid, seq) lies after block n-1's last
 * key and up to its own. Because the blocks tile the key space, a verifier recomputes each block
 * from the rows that are there now: a changed, deleted or inserted posting or transaction changes
 * the recomputed hash (or count) of exactly the block it falls in.
 */
import type { DataSource, QueryRunner } from 'typeorm';
import { cursorTimeSql } from '../../common/pagination/cursor';
import {
  BlockHeader,
  ORIGIN_KEY,
  SEAL_FORMAT,
  SELECT_TRANSACTION_LINES,
  SealKey,
  TransactionLine,
  blockHash,
  keyOf,
  sameKey,
  transactionsHash,
} from './canonical';
import { GENESIS_HASH, HashAlgorithm, isHashAlgorithm } from './hashing';

/** Runs one SQL statement with positional parameters and returns its rows. */
export type Sql = (text: string, params?: unknown[]) => Promise<unknown[]>;

/** Statements on one connection (a transaction, a lock) as a Sql function. */
export const sqlOf =
  (runner: QueryRunner): Sql =>
  (text, params) =>
    runner.query(text, params) as Promise<unknown[]>;

const BLOCK_COLUMNS = `
  height::text AS height, format, algorithm, first_xid::text AS first_xid, first_seq::text AS first_seq,
  last_xid::text AS last_xid, last_seq::text AS last_seq, transaction_count, posting_count,
  transactions_hash, previous_hash, block_hash, ${cursorTimeSql('sealed_at')} AS sealed_at`;

interface BlockRow {
  height: string;
  format: string;
  algorithm: string;
  first_xid: string;
  first_seq: string;
  last_xid: string;
  last_seq: string;
  transaction_count: number;
  posting_count: number;
  transactions_hash: string;
  previous_hash: string;
  block_hash: string;
  sealed_at: string;
}

export interface SealedBlock {
  height: number;
  algorithm: HashAlgorithm;
  firstSeq: string;
  lastSeq: string;
  transactionCount: number;
  postingCount: number;
  blockHash: string;
  sealedAt: string;
}

function headerOf(row: BlockRow, algorithm: HashAlgorithm): BlockHeader {
  return {
    height: row.height,
    format: row.format,
    algorithm,
    firstKey: { xid: row.first_xid, seq: row.first_seq },
    lastKey: { xid: row.last_xid, seq: row.last_seq },
    transactionCount: row.transaction_count,
    postingCount: row.posting_count,
    transactionsHash: row.transactions_hash,
    previousHash: row.previous_hash,
    sealedAt: row.sealed_at,
  };
}

function blockOf(row: BlockRow): SealedBlock {
  return {
    height: Number(row.height),
    algorithm: row.algorithm as HashAlgorithm,
    firstSeq: row.first_seq,
    lastSeq: row.last_seq,
    transactionCount: row.transaction_count,
    postingCount: row.posting_count,
    blockHash: row.block_hash,
    sealedAt: row.sealed_at,
  };
}

export async function readHead(sql: Sql): Promise<SealedBlock | null> {
  const row = await readHeadRow(sql);
  return row ? blockOf(row) : null;
}

/**
 * Ledger transactions after `after` (by default the last sealed one), in the sealer's (commit)
 * order: those not yet sealed.
 */
export async function countUnsealed(sql: Sql, after?: SealKey): Promise<number> {
  let key = after;
  if (!key) {
    const head = await readHeadRow(sql);
    key = head ? { xid: head.last_xid, seq: head.last_seq } : ORIGIN_KEY;
  }
  const [{ n }] = (await sql(
    `SELECT count(*)::int AS n FROM ledger_transactions t
     WHERE (t.created_xid, t.seq) > ($1::xid8, $2::bigint)`,
    [key.xid, key.seq],
  )) as { n: number }[];
  return n;
}

async function readHeadRow(sql: Sql): Promise<BlockRow | undefined> {
  const [row] = (await sql(
    `SELECT ${BLOCK_COLUMNS} FROM ledger_seal_blocks b ORDER BY b.height DESC LIMIT 1`,
  )) as BlockRow[];
  return row;
}

const countPostings = (rows: TransactionLine[]) =>
  rows.reduce((total, row) => total + row.posting_count, 0);

const linesOf = (rows: TransactionLine[]) => rows.map((row) => row.line);

export interface SealOptions {
  algorithm: HashAlgorithm;
  /** Most transactions in one block. */
  blockSize: number;
}

/**
 * Seals the next block: the oldest unsealed transactions (at most blockSize) whose writing
 * database transaction has finished. Returns null when there is nothing to seal. Run it inside a
 * transaction that holds the sealing lock, so that the head cannot move underneath.
 */
export async function sealNextBlock(sql: Sql, options: SealOptions): Promise<SealedBlock | null> {
  const head = await readHeadRow(sql);
  const after: SealKey = head ? { xid: head.last_xid, seq: head.last_seq } : ORIGIN_KEY;
  // One statement, one snapshot: every created_xid below its xmin is committed or aborted, and
  // every committed one is visible to it.
  const rows = (await sql(
    `${SELECT_TRANSACTION_LINES}
     WHERE (t.created_xid, t.seq) > ($1::xid8, $2::bigint)
       AND t.created_xid < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY t.created_xid, t.seq
     LIMIT $3`,
    [after.xid, after.seq, options.blockSize],
  )) as TransactionLine[];
  if (rows.length === 0) return null;
  const [{ sealed_at: sealedAt }] = (await sql(
    `SELECT ${cursorTimeSql('now()')} AS sealed_at`,
  )) as {
    sealed_at: string;
  }[];
  const header: BlockHeader = {
    height: String(head ? BigInt(head.height) + 1n : 1n),
    format: SEAL_FORMAT,
    algorithm: options.algorithm,
    firstKey: keyOf(rows[0]),
    lastKey: keyOf(rows[rows.length - 1]),
    transactionCount: rows.length,
    postingCount: countPostings(rows),
    transactionsHash: transactionsHash(options.algorithm, linesOf(rows)),
    previousHash: head ? head.block_hash : GENESIS_HASH,
    sealedAt,
  };
  return appendBlock(sql, header);
}

/** Appends the block `header` describes, with its hash, to the chain. */
export async function appendBlock(sql: Sql, header: BlockHeader): Promise<SealedBlock> {
  const [inserted] = (await sql(
    `INSERT INTO ledger_seal_blocks (height, format, algorithm, first_xid, first_seq, last_xid,
       last_seq, transaction_count, posting_count, transactions_hash, previous_hash, block_hash,
       sealed_at)
     VALUES ($1, $2, $3, $4::xid8, $5, $6::xid8, $7, $8, $9, $10, $11, $12, $13::timestamptz)
     RETURNING ${BLOCK_COLUMNS}`,
    [
      header.height,
      header.format,
      header.algorithm,
      header.firstKey.xid,
      header.firstKey.seq,
      header.lastKey.xid,
      header.lastKey.seq,
      header.transactionCount,
      header.postingCount,
      header.transactionsHash,
      header.previousHash,
      blockHash(header),
      header.sealedAt,
    ],
  )) as BlockRow[];
  return blockOf(inserted);
}

export type BadBlockReason =
  | 'height_gap'
  | 'previous_hash_mismatch'
  | 'unknown_format'
  | 'transactions_missing_or_added'
  | 'transactions_changed'
  | 'block_hash_mismatch';

export interface BadBlock {
  height: number;
  reason: BadBlockReason;
  detail: string;
  firstSeq: string;
  lastSeq: string;
  sealedAt: string;
}

export interface ChainVerification {
  ok: boolean;
  blocks: number;
  transactions: number;
  postings: number;
  firstBadBlock?: BadBlock;
  badBlocks: number;
  head: SealedBlock | null;
  /** Transactions after the last block: not sealed yet. */
  unsealedTransactions: number;
  /** Postings whose transaction does not exist (checked only when the whole chain is verified). */
  orphanPostings: number | null;
}

export interface VerifyOptions {
  /** First block to verify (its predecessor's stored hash is trusted); default 1. */
  fromHeight?: number;
  /** Last block to verify; default the head. */
  toHeight?: number;
  /** Headers read per query. */
  batchSize?: number;
}

/** What is wrong with one block, recomputed from the rows in its key range; undefined if sound. */
async function checkBlock(
  sql: Sql,
  row: BlockRow,
  previous: { height: bigint; hash: string; lastKey: SealKey },
): Promise<{
  problem?: { reason: BadBlockReason; detail: string };
  transactions: number;
  postings: number;
}> {
  if (BigInt(row.height) !== previous.height + 1n) {
    return {
      problem: { reason: 'height_gap', detail: `expected height ${previous.height + 1n}` },
      transactions: 0,
      postings: 0,
    };
  }
  if (row.format !== SEAL_FORMAT || !isHashAlgorithm(row.algorithm)) {
    return {
      problem: {
        reason: 'unknown_format',
        detail: `format ${row.format}, algorithm ${row.algorithm}`,
      },
      transactions: 0,
      postings: 0,
    };
  }
  const algorithm = row.algorithm;
  // One row more than the block claims, so that an insertion shows without reading unboundedly.
  const rows = (await sql(
    `${SELECT_TRANSACTION_LINES}
     WHERE (t.created_xid, t.seq) > ($1::xid8, $2::bigint)
       AND (t.created_xid, t.seq) <= ($3::xid8, $4::bigint)
     ORDER BY t.created_xid, t.seq
     LIMIT $5`,
    [
      previous.lastKey.xid,
      previous.lastKey.seq,
      row.last_xid,
      row.last_seq,
      row.transaction_count + 1,
    ],
  )) as TransactionLine[];
  const postings = countPostings(rows);
  const counted = { transactions: rows.length, postings };
  if (row.previous_hash !== previous.hash) {
    return {
      problem: {
        reason: 'previous_hash_mismatch',
        detail: 'does not chain to the block before it',
      },
      ...counted,
    };
  }
  if (
    rows.length === 0 ||
    rows.length !== row.transaction_count ||
    !sameKey(keyOf(rows[0]), { xid: row.first_xid, seq: row.first_seq }) ||
    !sameKey(keyOf(rows[rows.length - 1]), { xid: row.last_xid, seq: row.last_seq })
  ) {
    return {
      problem: {
        reason: 'transactions_missing_or_added',
        detail: `sealed ${row.transaction_count} transactions, found ${rows.length} in its range`,
      },
      ...counted,
    };
  }
  const recomputed = transactionsHash(algorithm, linesOf(rows));
  if (recomputed !== row.transactions_hash || postings !== row.posting_count) {
    return {
      problem: {
        reason: 'transactions_changed',
        detail:
          `sealed ${row.posting_count} postings, found ${postings}; ` +
          `transactions hash ${recomputed === row.transactions_hash ? 'matches' : 'differs'}`,
      },
      ...counted,
    };
  }
  if (blockHash(headerOf(row, algorithm)) !== row.block_hash) {
    return {
      problem: { reason: 'block_hash_mismatch', detail: 'the block row was changed' },
      ...counted,
    };
  }
  return counted;
}

/**
 * Recomputes the chain from the database. Run it inside one REPEATABLE READ transaction so that
 * the blocks and the rows they cover are read at one instant.
 */
export async function verifyChain(
  sql: Sql,
  options: VerifyOptions = {},
): Promise<ChainVerification> {
  const fromHeight = Math.max(1, options.fromHeight ?? 1);
  const batchSize = options.batchSize ?? 100;
  let previous = { height: 0n, hash: GENESIS_HASH, lastKey: ORIGIN_KEY };
  if (fromHeight > 1) {
    const [before] = (await sql(
      `SELECT ${BLOCK_COLUMNS} FROM ledger_seal_blocks b WHERE b.height = $1`,
      [fromHeight - 1],
    )) as BlockRow[];
    if (before) {
      previous = {
        height: BigInt(before.height),
        hash: before.block_hash,
        lastKey: { xid: before.last_xid, seq: before.last_seq },
      };
    }
  }
  const result: ChainVerification = {
    ok: true,
    blocks: 0,
    transactions: 0,
    postings: 0,
    badBlocks: 0,
    head: null,
    unsealedTransactions: 0,
    orphanPostings: null,
  };
  let lastRow: BlockRow | undefined;
  for (;;) {
    const rows = (await sql(
      `SELECT ${BLOCK_COLUMNS} FROM ledger_seal_blocks b
       WHERE b.height > $1 AND ($2::bigint IS NULL OR b.height <= $2)
       ORDER BY b.height LIMIT $3`,
      [String(previous.height), options.toHeight ?? null, batchSize],
    )) as BlockRow[];
    for (const row of rows) {
      const checked = await checkBlock(sql, row, previous);
      result.blocks += 1;
      result.transactions += checked.transactions;
      result.postings += checked.postings;
      if (checked.problem) {
        result.ok = false;
        result.badBlocks += 1;
        result.firstBadBlock ??= {
          height: Number(row.height),
          ...checked.problem,
          firstSeq: row.first_seq,
          lastSeq: row.last_seq,
          sealedAt: row.sealed_at,
        };
      }
      // Continue from what the block claims, so that one bad block does not condemn the rest.
      previous = {
        height: BigInt(row.height),
        hash: row.block_hash,
        lastKey: { xid: row.last_xid, seq: row.last_seq },
      };
      lastRow = row;
    }
    if (rows.length < batchSize) break;
  }
  result.head = lastRow ? blockOf(lastRow) : null;
  const whole = fromHeight === 1 && options.toHeight === undefined;
  if (whole) {
    result.unsealedTransactions = await countUnsealed(sql, previous.lastKey);
    const [orphans] = (await sql(
      `SELECT count(*)::int AS n FROM ledger_postings p
       WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = p.transaction_id)`,
    )) as { n: number }[];
    result.orphanPostings = orphans.n;
    if (orphans.n > 0) result.ok = false;
  }
  return result;
}

/** Verifies inside one read-only REPEATABLE READ transaction: blocks and rows at one instant. */
export async function verifyAtOneInstant(
  dataSource: DataSource,
  options: VerifyOptions = {},
): Promise<ChainVerification> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      return await verifyChain(sqlOf(runner), options);
    } finally {
      await runner.query('ROLLBACK');
    }
  } finally {
    await runner.release();
  }
}
