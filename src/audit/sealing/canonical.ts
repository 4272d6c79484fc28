/**
 * The canonical form of sealed data (format v1). A ledger transaction is one line: a JSON array
 * of its columns, then its postings ordered by id, each an array of its columns. Every value is a
 * string (bigints and timestamps as PostgreSQL renders them: integers in decimal, instants in UTC
 * with microseconds), a boolean or null, and `metadata` is PostgreSQL's jsonb text, which sorts
 * keys itself; so the same rows always give the same bytes, in the sealer and in any verifier.
 *
 * PostgreSQL writes the lines (SELECT_TRANSACTION_LINES), for the sealer and the verifier alike,
 * so that Node, which shares its CPUs with the API, receives one string per transaction and only
 * hashes it: parsing two dozen columns per transaction and serialising them in Node cost about
 * three times the CPU. The same line built from the columns in JavaScript, the format's readable
 * reference and the tests' oracle, is canonicalTransaction in test/support/canonical-transaction.ts.
 */
import { cursorTimeSql } from '../../common/pagination/cursor';
import { HashAlgorithm, digestHex, newHash } from './hashing';

export const SEAL_FORMAT = 'v1';

/** Position in the sealing order: (created_xid, seq), compared as a pair. */
export interface SealKey {
  xid: string;
  seq: string;
}

/** Before every ledger transaction. */
export const ORIGIN_KEY: SealKey = { xid: '0', seq: '0' };

/** A ledger transaction as the sealer reads it: its key, its postings' count and its line. */
export interface TransactionLine {
  seq: string;
  created_xid: string;
  posting_count: number;
  line: string;
}

// Written out by hand, adjacent constants merged: each || copies the line so far. Uuids, integers,
// xid8 and cursorTimeSql instants hold nothing a JSON string escapes, so plain quotes do, and cost
// far less than to_json; free text goes through to_json, which escapes exactly as JSON.stringify
// does for any text PostgreSQL can hold. A NULL operand makes its coalesce give JSON null.
const POSTING_JSON = `'["' || p.id
  || '","' || p.account_id
  || '",' || to_json(p.phase)::text
  || ',"' || p.amount
  || '","' || p.account_version
  || '","' || p.posted_debits_after
  || '","' || p.posted_credits_after
  || '","' || p.pending_debits_after
  || '","' || p.pending_credits_after
  || '","' || ${cursorTimeSql('p.recorded_at')} || '"]'`;

const TRANSACTION_JSON = `'["tx","' || t.seq
  || '","' || t.id
  || '","' || t.created_xid
  || '",' || to_json(t.kind)::text
  || ',' || to_json(t.reference)::text
  || ',"' || t.institution_id
  || '",' || coalesce('"' || t.pending_id || '"', 'null')
  || ',' || coalesce(to_json(t.resolution)::text, 'null')
  || ',' || coalesce('"' || t.reversal_of || '"', 'null')
  || ',' || t.manual::text
  || ',"' || ${cursorTimeSql('t.created_at')}
  || '","' || ${cursorTimeSql('t.effective_at')}
  || '",' || to_json(t.metadata::text)::text
  || ',[' || coalesce(postings.json, '') || ']]'`;

/** TransactionLine rows of ledger transactions `t`; the caller adds WHERE, ORDER BY and LIMIT. */
export const SELECT_TRANSACTION_LINES = `
  SELECT t.seq::text AS seq, t.created_xid::text AS created_xid,
         postings.count AS posting_count, ${TRANSACTION_JSON} AS line
  FROM ledger_transactions t
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS count, string_agg(${POSTING_JSON}, ',' ORDER BY p.id) AS json
    FROM ledger_postings p WHERE p.transaction_id = t.id) postings`;

export function keyOf(row: Pick<TransactionLine, 'created_xid' | 'seq'>): SealKey {
  return { xid: row.created_xid, seq: row.seq };
}

export function sameKey(a: SealKey, b: SealKey): boolean {
  return a.xid === b.xid && a.seq === b.seq;
}

/** Hash of a block's transactions: each canonical line followed by a line feed, in key order. */
export function transactionsHash(algorithm: HashAlgorithm, lines: string[]) {
  const hash = newHash(algorithm);
  for (const line of lines) {
    hash.update(line, 'utf8');
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
