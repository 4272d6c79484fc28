/**
 * Format v1's line of a ledger transaction built from its columns in JavaScript: the readable
 * reference of the format (an auditor can rebuild lines from a SQL dump with it) and the oracle
 * the tests hold PostgreSQL's lines (SELECT_TRANSACTION_LINES) to. It is the sealer's former
 * implementation, kept out of src/ so that the service has one way of producing lines.
 */
import type { Sql } from '../../src/audit/sealing/chain';
import type { SealKey } from '../../src/audit/sealing/canonical';
import { cursorTimeSql } from '../../src/common/pagination/cursor';

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

const TRANSACTION_COLUMNS = `
  t.seq::text AS seq, t.id::text AS id, t.kind, t.reference, t.institution_id::text AS institution_id,
  t.pending_id::text AS pending_id, t.resolution, t.reversal_of::text AS reversal_of, t.manual,
  ${cursorTimeSql('t.created_at')} AS created_at, ${cursorTimeSql('t.effective_at')} AS effective_at,
  t.metadata::text AS metadata, t.created_xid::text AS created_xid`;

const POSTING_COLUMNS = `
  p.id::text AS id, p.transaction_id::text AS transaction_id, p.account_id::text AS account_id,
  p.phase, p.amount::text AS amount, p.account_version::text AS account_version,
  p.posted_debits_after::text AS posted_debits_after,
  p.posted_credits_after::text AS posted_credits_after,
  p.pending_debits_after::text AS pending_debits_after,
  p.pending_credits_after::text AS pending_credits_after,
  ${cursorTimeSql('p.recorded_at')} AS recorded_at`;

/**
 * The columns of the ledger transactions after `after` and up to `through` (by sealing key; by
 * default to the last), in sealing order, each with its postings by id: what canonicalTransaction
 * takes.
 */
export async function readSealedTransactions(
  sql: Sql,
  after: SealKey,
  through?: SealKey,
): Promise<SealedTransaction[]> {
  const rows = (await sql(
    `SELECT ${TRANSACTION_COLUMNS} FROM ledger_transactions t
     WHERE (t.created_xid, t.seq) > ($1::xid8, $2::bigint)
       AND ($3::xid8 IS NULL OR (t.created_xid, t.seq) <= ($3::xid8, $4::bigint))
     ORDER BY t.created_xid, t.seq`,
    [after.xid, after.seq, through?.xid ?? null, through?.seq ?? null],
  )) as TransactionRow[];
  const postings = (await sql(
    `SELECT ${POSTING_COLUMNS} FROM ledger_postings p
     WHERE p.transaction_id = ANY($1::uuid[]) ORDER BY p.id`,
    [rows.map((row) => row.id)],
  )) as PostingRow[];
  return rows.map((row) => ({
    row,
    postings: postings.filter((posting) => posting.transaction_id === row.id),
  }));
}
