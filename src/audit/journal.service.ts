/**
 * The journal: every posting with its transaction, in recording order (recorded_at, id), scoped
 * to the auditor's district in SQL. Pages for JSON; for CSV, a server-side cursor read in batches
 * inside one read-only snapshot and pushed with backpressure, so memory stays flat whatever the
 * journal's length.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import { DataSource, QueryRunner } from 'typeorm';
import type { Principal } from '../auth/principal';
import { validationFailed } from '../common/errors/domain.exception';
import { toFen } from '../common/money/fen';
import { DEFAULT_PAGE_SIZE, cursorTimeSql } from '../common/pagination/cursor';
import type { AccountCode, TransactionKind } from '../ledger/chart-of-accounts';
import type { PostingPhase } from '../ledger/entities/ledger-posting.entity';
import { AuditErrorCode, auditError } from './audit.errors';
import { assertRange, districtOf, safeInteger } from './audit-scope';
import { CsvValue, csvLine } from './csv';
import { decodeCursor, encodeCursor } from '../common/pagination/cursor';
import { orderTransactionIdsSql } from './order-transactions';

export interface JournalFilters {
  institutionId?: string;
  orderId?: string;
  account?: AccountCode;
  kind?: TransactionKind;
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
}

export interface JournalEntry {
  postingId: string;
  recordedAt: string;
  transactionId: string;
  seq: number;
  kind: string;
  reference: string;
  institutionId: string;
  accountId: string;
  accountCode: AccountCode;
  orderId: string | null;
  phase: PostingPhase;
  debitFen: number;
  creditFen: number;
  accountVersion: number;
  postedDebitsAfterFen: number;
  postedCreditsAfterFen: number;
  pendingDebitsAfterFen: number;
  pendingCreditsAfterFen: number;
  effectiveAt: string;
  manual: boolean;
  pendingId: string | null;
  resolution: 'post' | 'void' | null;
  reversalOf: string | null;
}

export interface JournalPage {
  items: JournalEntry[];
  nextCursor: string | null;
}

export interface JournalRow {
  posting_id: string;
  recorded_at: string;
  transaction_id: string;
  seq: string;
  kind: string;
  reference: string;
  institution_id: string;
  account_id: string;
  account_code: AccountCode;
  order_id: string | null;
  phase: PostingPhase;
  debit_fen: string;
  credit_fen: string;
  account_version: string;
  posted_debits_after: string;
  posted_credits_after: string;
  pending_debits_after: string;
  pending_credits_after: string;
  effective_at: string;
  manual: boolean;
  pending_id: string | null;
  resolution: 'post' | 'void' | null;
  reversal_of: string | null;
}

const JOURNAL_COLUMNS = `
  p.id::text AS posting_id, ${cursorTimeSql('p.recorded_at')} AS recorded_at,
  p.transaction_id, t.seq::text AS seq, t.kind, t.reference, t.institution_id,
  p.account_id, a.code AS account_code, a.order_id, p.phase,
  greatest(p.amount, 0)::text AS debit_fen, greatest(-p.amount, 0)::text AS credit_fen,
  p.account_version::text AS account_version,
  p.posted_debits_after::text AS posted_debits_after,
  p.posted_credits_after::text AS posted_credits_after,
  p.pending_debits_after::text AS pending_debits_after,
  p.pending_credits_after::text AS pending_credits_after,
  ${cursorTimeSql('t.effective_at')} AS effective_at, t.manual, t.pending_id, t.resolution,
  t.reversal_of`;

/** The CSV columns, in order: the JSON fields in snake_case, amounts in integer fen. */
export const JOURNAL_CSV_COLUMNS: (keyof JournalRow)[] = [
  'posting_id',
  'recorded_at',
  'transaction_id',
  'seq',
  'kind',
  'reference',
  'institution_id',
  'account_id',
  'account_code',
  'order_id',
  'phase',
  'debit_fen',
  'credit_fen',
  'account_version',
  'posted_debits_after',
  'posted_credits_after',
  'pending_debits_after',
  'pending_credits_after',
  'effective_at',
  'manual',
  'pending_id',
  'resolution',
  'reversal_of',
];

/** Rows per FETCH of a CSV export: a few megabytes of JavaScript objects at most. */
export const EXPORT_BATCH = 1_000;

function toEntry(row: JournalRow): JournalEntry {
  return {
    postingId: row.posting_id,
    recordedAt: row.recorded_at,
    transactionId: row.transaction_id,
    seq: safeInteger(row.seq),
    kind: row.kind,
    reference: row.reference,
    institutionId: row.institution_id,
    accountId: row.account_id,
    accountCode: row.account_code,
    orderId: row.order_id,
    phase: row.phase,
    debitFen: toFen(row.debit_fen),
    creditFen: toFen(row.credit_fen),
    accountVersion: safeInteger(row.account_version),
    postedDebitsAfterFen: toFen(row.posted_debits_after),
    postedCreditsAfterFen: toFen(row.posted_credits_after),
    pendingDebitsAfterFen: toFen(row.pending_debits_after),
    pendingCreditsAfterFen: toFen(row.pending_credits_after),
    effectiveAt: row.effective_at,
    manual: row.manual,
    pendingId: row.pending_id,
    resolution: row.resolution,
    reversalOf: row.reversal_of,
  };
}

export const journalCsvLine = (row: JournalRow) =>
  csvLine(JOURNAL_CSV_COLUMNS.map((column) => row[column] as CsvValue));

/**
 * A CSV export read from a server-side cursor. `_read` fetches the next batch only when the
 * consumer wants more (backpressure); destroying the stream (client gone, error) closes the
 * cursor's transaction and returns the connection.
 */
export class JournalCsvStream extends Readable {
  private fetching = false;
  private released = false;

  constructor(
    private readonly runner: QueryRunner,
    private readonly cursorName: string,
    private first: JournalRow[] | null,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.push(csvLine(JOURNAL_CSV_COLUMNS));
  }

  override _read(): void {
    if (this.fetching || this.released) return;
    this.fetching = true;
    this.fill().catch((error: unknown) => this.destroy(error as Error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.close(false).then(
      () => callback(error),
      () => callback(error),
    );
  }

  private async fill(): Promise<void> {
    const rows =
      this.first ??
      ((await this.runner.query(
        `FETCH FORWARD ${EXPORT_BATCH} FROM ${this.cursorName}`,
      )) as JournalRow[]);
    this.first = null;
    if (this.released) return;
    const last = rows.length < EXPORT_BATCH;
    if (last) await this.close(true);
    this.fetching = false;
    if (rows.length > 0) this.push(rows.map(journalCsvLine).join(''));
    if (last) this.push(null);
  }

  private async close(commit: boolean): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.runner.query(commit ? 'COMMIT' : 'ROLLBACK');
    } finally {
      await this.runner.release();
    }
  }
}

interface Plan {
  text: string;
  params: unknown[];
}

@Injectable()
export class JournalService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async listJournal(principal: Principal, filters: JournalFilters): Promise<JournalPage> {
    const limit = filters.limit ?? DEFAULT_PAGE_SIZE;
    const plan = await this.plan(principal, filters);
    const rows: JournalRow[] = await this.dataSource.query(
      `${plan.text} LIMIT $${plan.params.length + 1}`,
      [...plan.params, limit + 1],
    );
    const more = rows.length > limit;
    const items = more ? rows.slice(0, limit) : rows;
    const last = items[items.length - 1];
    return {
      items: items.map(toEntry),
      nextCursor: more ? encodeCursor({ createdAt: last.recorded_at, id: last.posting_id }) : null,
    };
  }

  /**
   * The whole filtered journal as CSV, from the cursor onward. Scope and filters are checked,
   * and the first batch read, before anything is sent: a refusal is still a problem response.
   */
  async exportJournalCsv(principal: Principal, filters: JournalFilters): Promise<Readable> {
    if (filters.limit !== undefined) {
      throw validationFailed([
        { field: 'limit', message: 'applies to JSON pages; a CSV export holds the whole journal' },
      ]);
    }
    const plan = await this.plan(principal, filters);
    const cursorName = 'journal_export';
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await runner.query(`DECLARE ${cursorName} NO SCROLL CURSOR FOR ${plan.text}`, plan.params);
      const first = (await runner.query(
        `FETCH FORWARD ${EXPORT_BATCH} FROM ${cursorName}`,
      )) as JournalRow[];
      return new JournalCsvStream(runner, cursorName, first);
    } catch (error) {
      await runner.query('ROLLBACK').catch(() => undefined);
      await runner.release();
      throw error;
    }
  }

  /** The journal query for these filters, in the principal's district; checks the ids first. */
  private async plan(principal: Principal, filters: JournalFilters): Promise<Plan> {
    const districtId = districtOf(principal);
    assertRange(filters.from, filters.to);
    const position = decodeCursor(filters.cursor, 'bigint');
    const after = position && { recordedAt: position.createdAt, postingId: position.id };
    const params: unknown[] = [districtId];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const where = ['t.institution_id IN (SELECT id FROM institutions WHERE district_id = $1)'];
    if (filters.institutionId !== undefined) {
      const [found] = await this.dataSource.query<{ id: string }[]>(
        'SELECT id FROM institutions WHERE id = $1 AND district_id = $2',
        [filters.institutionId, districtId],
      );
      if (!found) {
        throw auditError(AuditErrorCode.INSTITUTION_NOT_FOUND, 'No institution with this id.');
      }
      const institution = param(filters.institutionId);
      where.push(`t.institution_id = ${institution}::uuid`);
      if (filters.account !== undefined) {
        // The accounts themselves, so that the planner sees them and walks each one's
        // (account_id, recorded_at) index instead of sorting the institution's journal.
        const accounts = await this.dataSource.query<{ id: string }[]>(
          'SELECT id FROM ledger_accounts WHERE institution_id = $1 AND code = $2',
          [filters.institutionId, filters.account],
        );
        where.push(
          accounts.length === 1
            ? `p.account_id = ${param(accounts[0].id)}::uuid`
            : `p.account_id = ANY(${param(accounts.map((account) => account.id))}::uuid[])`,
        );
      }
    }
    if (filters.orderId !== undefined) {
      const [order] = await this.dataSource.query<{ id: string; escrow_account_id: string }[]>(
        'SELECT id, escrow_account_id FROM orders WHERE id = $1 AND district_id = $2',
        [filters.orderId, districtId],
      );
      if (!order) throw auditError(AuditErrorCode.ORDER_NOT_FOUND, 'No order with this id.');
      // Every posting of the transactions that concern the order, all their legs.
      where.push(
        `p.transaction_id IN (${orderTransactionIdsSql(param(order.escrow_account_id), param(order.id))})`,
      );
    }
    if (filters.account !== undefined) where.push(`a.code = ${param(filters.account)}`);
    if (filters.kind !== undefined) where.push(`t.kind = ${param(filters.kind)}`);
    if (filters.from !== undefined) {
      where.push(`p.recorded_at >= ${param(filters.from)}::timestamptz`);
    }
    if (filters.to !== undefined) where.push(`p.recorded_at < ${param(filters.to)}::timestamptz`);
    if (after) {
      const recordedAt = param(after.recordedAt);
      // The first condition is implied by the second; it gives the indexes a range to start at.
      where.push(`p.recorded_at >= ${recordedAt}::timestamptz`);
      where.push(
        `(p.recorded_at, p.id) > (${recordedAt}::timestamptz, ${param(after.postingId)}::bigint)`,
      );
    }
    return {
      text: `SELECT ${JOURNAL_COLUMNS}
        FROM ledger_postings p
        JOIN ledger_transactions t ON t.id = p.transaction_id
        JOIN ledger_accounts a ON a.id = p.account_id
        WHERE ${where.join('\n  AND ')}
        ORDER BY p.recorded_at, p.id`,
      params,
    };
  }
}
