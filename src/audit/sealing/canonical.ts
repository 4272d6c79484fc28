/**
 * The canonical form of sealed data (format v1). A ledger transaction is one line: a JSON array
 * of its columns, then its postings ordered by id, each an array of its columns. Every value is a
 * string (bigints and timestamps as PostgreSQL renders them: integers in decimal, instants in UTC
 * with microseconds), a boolean or null, and `metadata` is PostgreSQL's jsonb text, which sorts
 * keys itself; so the same rows always give the same bytes, in the sealer and in any verifier.
 */
import { HashAlgorithm, digestHex, newHash } from './hashing';

export const SEAL_FORMAT = 'v1';

/** Position in the sealing order: (created_xid, seq), compared as a pair. */
export interface SealKey {
  xid: string;
  seq: string;
}

/** Before every ledger transaction. */
export const ORIGIN_KEY: SealKey = { xid: '0', seq: '0' };

export interface TransactionRow {
  seq: string;
  id: string;
  kind: string;
  reference: string;
  institution_id: string;
  pending_id: string | null;
  resolution: string | null;
  reversal_of: string | null;
  manual: boolean;
  created_at: string;
  effective_at: string;
  metadata: string;
  created_xid: string;
}

export interface PostingRow {
  id: string;
  transaction_id: string;
  account_id: string;
  phase: string;
  amount: string;
  account_version: string;
  posted_debits_after: string;
  posted_credits_after: string;
  pending_debits_after: string;
  pending_credits_after: string;
  recorded_at: string;
}

export interface SealedTransaction {
  row: TransactionRow;
  postings: PostingRow[];
}

export function keyOf(row: Pick<TransactionRow, 'created_xid' | 'seq'>): SealKey {
  return { xid: row.created_xid, seq: row.seq };
}

export function sameKey(a: SealKey, b: SealKey): boolean {
  return a.xid === b.xid && a.seq === b.seq;
}

export function canonicalTransaction({ row, postings }: SealedTransaction): string {
  return JSON.stringify([
    'tx',
    row.seq,
    row.id,
    row.created_xid,
    row.kind,
    row.reference,
    row.institution_id,
    row.pending_id,
    row.resolution,
    row.reversal_of,
    row.manual,
    row.created_at,
    row.effective_at,
    row.metadata,
    postings.map((p) => [
      p.id,
      p.account_id,
      p.phase,
      p.amount,
      p.account_version,
      p.posted_debits_after,
      p.posted_credits_after,
      p.pending_debits_after,
      p.pending_credits_after,
      p.recorded_at,
    ]),
  ]);
}

/** Hash of a block's transactions: each canonical line followed by a line feed, in key order. */
export function transactionsHash(algorithm: HashAlgorithm, transactions: SealedTransaction[]) {
  const hash = newHash(algorithm);
  for (const transaction of transactions) {
    hash.update(canonicalTransaction(transaction), 'utf8');
    hash.update('\n', 'utf8');
  }
  return hash.digest('hex');
}

export interface BlockHeader {
  height: string;
  format: string;
  algorithm: HashAlgorithm;
  firstKey: SealKey;
  lastKey: SealKey;
  transactionCount: number;
  postingCount: number;
  transactionsHash: string;
  previousHash: string;
  sealedAt: string;
}

/** The block's own hash covers every column of its row, the previous block's hash included. */
export function blockHash(header: BlockHeader): string {
  return digestHex(
    header.algorithm,
    JSON.stringify([
      'block',
      header.format,
      header.height,
      header.algorithm,
      header.firstKey.xid,
      header.firstKey.seq,
      header.lastKey.xid,
      header.lastKey.seq,
      String(header.transactionCount),
      String(header.postingCount),
      header.transactionsHash,
      header.previousHash,
      header.sealedAt,
    ]),
  );
}
