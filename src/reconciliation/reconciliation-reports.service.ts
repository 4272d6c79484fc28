/**
 * What auditors and operators read about reconciliation, scoped in SQL to their district: a
 * statement's report, the open exceptions with their lines, and each custody account's daily close.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import { toFen } from '../common/money/fen';
import {
  DEFAULT_PAGE_SIZE,
  Page,
  cursorTimeSql,
  decodeCursor,
  toPage,
} from '../common/pagination/cursor';
import { chinaDate } from '../common/time/china-date';
import {
  AccountDayDto,
  CountAndSumDto,
  DayCloseDto,
  ExceptionKind,
  ListDaysQueryDto,
  ListReconciliationExceptionsQueryDto,
  ListStatementsQueryDto,
  ReconciliationExceptionDto,
  StatementReportDto,
  StatementSummaryDto,
} from './dto/reconciliation.dto';
import { ReconciliationErrorCode, reconciliationError } from './reconciliation.errors';

interface StatementRow {
  id: string;
  account_no: string;
  institution_id: string;
  format: string;
  format_version: string;
  source: string;
  imported_by: string;
  message_id: string | null;
  statement_ref: string | null;
  sequence_no: string | null;
  from_date: string;
  to_date: string;
  opening_fen: string;
  closing_fen: string;
  credit_count: number;
  credit_fen: string;
  debit_count: number;
  debit_fen: string;
  line_count: number;
  new_line_count: number;
  imported_at: Date;
  matched_at: Date | null;
  cursor_time: string;
}

interface DayRow {
  day: string;
  account_no: string;
  status: 'open' | 'closed';
  bank_closing_fen: string;
  ledger_balance_fen: string | null;
  in_transit_fen: string | null;
  difference_fen: string | null;
  open_exceptions: number;
  closed_at: Date | null;
}

interface ExceptionRow {
  id: string;
  kind: ExceptionKind;
  status: string;
  account_no: string;
  institution_id: string;
  business_date: string;
  direction: string;
  amount_fen: string;
  ledger_amount_fen: string | null;
  instruction_id: string | null;
  payment_id: string | null;
  ledger_transaction_id: string | null;
  details: Record<string, unknown>;
  proposed_by: string | null;
  proposed_at: Date | null;
  proposal_reason: string | null;
  created_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution: string | null;
  resolution_note: string | null;
  resolution_transaction_id: string | null;
  line_id: string | null;
  line_statement_id: string | null;
  line_bank_ref: string | null;
  line_direction: string | null;
  line_amount_fen: string | null;
  line_booking_date: string | null;
  line_booked_at: Date | null;
  line_end_to_end_id: string | null;
  line_counterparty_account: string | null;
  line_counterparty_name: string | null;
  line_remittance_info: string | null;
  line_reversal: boolean | null;
  line_status: string | null;
  cursor_time: string;
}

const fenOrNull = (value: string | null) => (value === null ? null : toFen(value));
const totals = (count: number | string, sum: string | null): CountAndSumDto => ({
  count: Number(count),
  sumFen: toFen(sum ?? 0),
});

function dayView(row: DayRow): DayCloseDto {
  return {
    date: row.day,
    accountNo: row.account_no,
    status: row.status,
    bankClosingFen: toFen(row.bank_closing_fen),
    ledgerBalanceFen: fenOrNull(row.ledger_balance_fen),
    inTransitFen: fenOrNull(row.in_transit_fen),
    differenceFen: fenOrNull(row.difference_fen),
    openExceptions: row.open_exceptions,
    closedAt: row.closed_at?.toISOString() ?? null,
  };
}

const DAY_COLUMNS = `day::text AS day, account_no, status, bank_closing_fen, ledger_balance_fen,
  in_transit_fen, difference_fen, open_exceptions, closed_at`;

@Injectable()
export class ReconciliationReports {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async statement(principal: Principal, id: string): Promise<StatementReportDto> {
    const row = await this.findStatement(principal, id);
    const [lines]: Record<string, string>[] = await this.dataSource.query(
      `SELECT
         count(*) FILTER (WHERE status = 'matched' AND match_rule IS DISTINCT FROM 'reversal_pair') AS matched_n,
         sum(amount_fen) FILTER (WHERE status = 'matched' AND match_rule IS DISTINCT FROM 'reversal_pair') AS matched_fen,
         count(*) FILTER (WHERE status = 'matched' AND match_rule = 'manual') AS manual_n,
         count(*) FILTER (WHERE status = 'bank_only') AS bank_only_n,
         sum(amount_fen) FILTER (WHERE status = 'bank_only') AS bank_only_fen,
         count(*) FILTER (WHERE status = 'amount_mismatch') AS mismatched_n,
         sum(amount_fen) FILTER (WHERE status = 'amount_mismatch') AS mismatched_fen,
         count(*) FILTER (WHERE status IN ('reversed', 'reversal') OR match_rule = 'reversal_pair') AS reversed_n,
         sum(amount_fen) FILTER (WHERE status IN ('reversed', 'reversal') OR match_rule = 'reversal_pair') AS reversed_fen,
         count(*) FILTER (WHERE status = 'unmatched') AS pending_n,
         sum(amount_fen) FILTER (WHERE status = 'unmatched') AS pending_fen
       FROM reconciliation_lines
       WHERE account_no = $1 AND booking_date BETWEEN $2 AND $3`,
      [row.account_no, row.from_date, row.to_date],
    );
    const [exceptions]: Record<string, string>[] = await this.dataSource.query(
      `SELECT count(*) FILTER (WHERE kind = 'ledger_only') AS ledger_only_n,
              sum(amount_fen) FILTER (WHERE kind = 'ledger_only') AS ledger_only_fen,
              count(*) AS open_n
       FROM reconciliation_exceptions
       WHERE account_no = $1 AND status = 'open' AND business_date BETWEEN $2 AND $3`,
      [row.account_no, row.from_date, row.to_date],
    );
    const days: DayRow[] = await this.dataSource.query(
      `SELECT ${DAY_COLUMNS} FROM reconciliation_days
       WHERE account_no = $1 AND day BETWEEN $2 AND $3 ORDER BY day`,
      [row.account_no, row.from_date, row.to_date],
    );
    const dayViews = days.map(dayView);
    const status =
      row.matched_at === null
        ? 'pending'
        : dayViews.every((day) => day.status === 'closed')
          ? 'reconciled'
          : 'unreconciled';
    return {
      ...this.summary(row),
      status,
      formatVersion: row.format_version,
      importedBy: row.imported_by,
      messageId: row.message_id,
      statementRef: row.statement_ref,
      sequenceNo: row.sequence_no === null ? null : Number(row.sequence_no),
      openingBalanceFen: toFen(row.opening_fen),
      credits: totals(row.credit_count, row.credit_fen),
      debits: totals(row.debit_count, row.debit_fen),
      newLineCount: row.new_line_count,
      matched: {
        ...totals(lines.matched_n, lines.matched_fen),
        manualCount: Number(lines.manual_n),
      },
      bankOnly: totals(lines.bank_only_n, lines.bank_only_fen),
      ledgerOnly: totals(exceptions.ledger_only_n, exceptions.ledger_only_fen),
      mismatched: totals(lines.mismatched_n, lines.mismatched_fen),
      reversed: totals(lines.reversed_n, lines.reversed_fen),
      pending: totals(lines.pending_n, lines.pending_fen),
      openExceptions: Number(exceptions.open_n),
      balance: dayViews.find((day) => day.date === row.to_date) ?? null,
      days: dayViews,
    };
  }

  async statements(
    principal: Principal,
    query: ListStatementsQueryDto,
  ): Promise<Page<StatementSummaryDto>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows: StatementRow[] = await this.dataSource.query(
      `SELECT ${STATEMENT_COLUMNS}, ${cursorTimeSql('imported_at')} AS cursor_time
       FROM reconciliation_statements
       WHERE district_id = $1 AND ($2::text IS NULL OR account_no = $2)
         AND ($3::timestamptz IS NULL OR (imported_at, id) > ($3::timestamptz, $4::uuid))
       ORDER BY imported_at, id LIMIT $5`,
      [
        principal.districtId ?? null,
        query.accountNo ?? null,
        after?.createdAt ?? null,
        after?.id ?? null,
        limit + 1,
      ],
    );
    return toPage(rows, limit, (row) => this.summary(row));
  }

  async exceptions(
    principal: Principal,
    query: ListReconciliationExceptionsQueryDto,
  ): Promise<Page<ReconciliationExceptionDto>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    let period: { account_no: string; from_date: string; to_date: string } | undefined;
    if (query.statementId) period = await this.findStatement(principal, query.statementId);
    const status = query.status ?? 'open';
    const rows: ExceptionRow[] = await this.dataSource.query(
      `SELECT e.*, e.business_date::text AS business_date,
              l.statement_id AS line_statement_id, l.bank_ref AS line_bank_ref,
              l.direction AS line_direction, l.amount_fen AS line_amount_fen,
              l.booking_date::text AS line_booking_date, l.booked_at AS line_booked_at,
              l.end_to_end_id AS line_end_to_end_id,
              l.counterparty_account AS line_counterparty_account,
              l.counterparty_name AS line_counterparty_name,
              l.remittance_info AS line_remittance_info, l.reversal AS line_reversal,
              l.status AS line_status, ${cursorTimeSql('e.created_at')} AS cursor_time
       FROM reconciliation_exceptions e
       LEFT JOIN reconciliation_lines l ON l.id = e.line_id
       WHERE e.district_id = $1
         AND ($2::text = 'all' OR e.status = $2)
         AND ($3::text IS NULL OR e.kind = $3)
         AND ($4::text IS NULL OR e.account_no = $4)
         AND ($5::date IS NULL OR e.business_date BETWEEN $5::date AND $6::date)
         AND ($7::timestamptz IS NULL OR (e.created_at, e.id) > ($7::timestamptz, $8::uuid))
       ORDER BY e.created_at, e.id LIMIT $9`,
      [
        principal.districtId ?? null,
        status,
        query.kind ?? null,
        period?.account_no ?? query.accountNo ?? null,
        period?.from_date ?? null,
        period?.to_date ?? null,
        after?.createdAt ?? null,
        after?.id ?? null,
        limit + 1,
      ],
    );
    return toPage(rows, limit, exceptionView);
  }

  async days(principal: Principal, query: ListDaysQueryDto): Promise<Page<AccountDayDto>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const date = query.date ?? chinaDate(new Date(Date.now() - 86_400_000));
    const rows: (DayRow & {
      id: string;
      name: string;
      custody_no: string;
      day_status: string | null;
      statement_id: string | null;
      cursor_time: string;
    })[] = await this.dataSource.query(
      `SELECT i.id, i.name, b.account_no AS custody_no, d.status AS day_status, d.statement_id,
              d.bank_closing_fen, d.ledger_balance_fen, d.in_transit_fen, d.difference_fen,
              coalesce(d.open_exceptions, 0) AS open_exceptions,
              ${cursorTimeSql('i.created_at')} AS cursor_time
       FROM institutions i
       JOIN institution_bank_accounts b ON b.institution_id = i.id AND b.kind = 'custody'
       LEFT JOIN reconciliation_days d ON d.account_no = b.account_no AND d.day = $2
       WHERE i.district_id = $1
         AND ($3::text IS NULL OR coalesce(d.status, 'missing') = $3)
         AND ($4::timestamptz IS NULL OR (i.created_at, i.id) > ($4::timestamptz, $5::uuid))
       ORDER BY i.created_at, i.id LIMIT $6`,
      [
        principal.districtId ?? null,
        date,
        query.status ?? null,
        after?.createdAt ?? null,
        after?.id ?? null,
        limit + 1,
      ],
    );
    return toPage(rows, limit, (row) => ({
      institutionId: row.id,
      institutionName: row.name,
      accountNo: row.custody_no,
      date,
      status: (row.day_status ?? 'missing') as AccountDayDto['status'],
      bankClosingFen: fenOrNull(row.bank_closing_fen ?? null),
      ledgerBalanceFen: fenOrNull(row.ledger_balance_fen),
      inTransitFen: fenOrNull(row.in_transit_fen),
      differenceFen: fenOrNull(row.difference_fen),
      openExceptions: row.open_exceptions,
      statementId: row.statement_id,
    }));
  }

  /** A statement of the principal's district, or 404. */
  async findStatement(principal: Principal, id: string): Promise<StatementRow> {
    const [row]: StatementRow[] = await this.dataSource.query(
      `SELECT ${STATEMENT_COLUMNS}, '' AS cursor_time FROM reconciliation_statements
       WHERE id = $1 AND district_id = $2`,
      [id, principal.districtId ?? null],
    );
    if (!row) {
      throw reconciliationError(
        ReconciliationErrorCode.STATEMENT_NOT_FOUND,
        'No statement with this id in your district.',
      );
    }
    return row;
  }

  private summary(row: StatementRow): StatementSummaryDto {
    return {
      id: row.id,
      accountNo: row.account_no,
      institutionId: row.institution_id,
      format: row.format,
      source: row.source,
      fromDate: row.from_date,
      toDate: row.to_date,
      closingBalanceFen: toFen(row.closing_fen),
      lineCount: row.line_count,
      importedAt: row.imported_at.toISOString(),
      matchedAt: row.matched_at?.toISOString() ?? null,
    };
  }
}

const STATEMENT_COLUMNS = `id, account_no, institution_id, format, format_version, source,
  imported_by, message_id, statement_ref, sequence_no, from_date::text AS from_date,
  to_date::text AS to_date, opening_fen, closing_fen, credit_count, credit_fen, debit_count,
  debit_fen, line_count, new_line_count, imported_at, matched_at`;

function exceptionView(row: ExceptionRow): ReconciliationExceptionDto {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    accountNo: row.account_no,
    institutionId: row.institution_id,
    businessDate: row.business_date,
    direction: row.direction,
    amountFen: toFen(row.amount_fen),
    ledgerAmountFen: fenOrNull(row.ledger_amount_fen),
    line:
      row.line_id === null
        ? null
        : {
            id: row.line_id,
            statementId: row.line_statement_id!,
            bankRef: row.line_bank_ref!,
            direction: row.line_direction!,
            amountFen: toFen(row.line_amount_fen!),
            bookingDate: row.line_booking_date!,
            bookedAt: row.line_booked_at?.toISOString() ?? null,
            endToEndId: row.line_end_to_end_id,
            counterpartyAccount: row.line_counterparty_account,
            counterpartyName: row.line_counterparty_name,
            remittanceInfo: row.line_remittance_info,
            reversal: row.line_reversal ?? false,
            status: row.line_status!,
          },
    instructionId: row.instruction_id,
    paymentId: row.payment_id,
    ledgerTransactionId: row.ledger_transaction_id,
    details: row.details,
    proposal:
      row.proposed_by === null
        ? null
        : {
            by: row.proposed_by,
            at: row.proposed_at!.toISOString(),
            reason: row.proposal_reason ?? '',
          },
    createdAt: row.created_at.toISOString(),
    resolvedAt: row.resolved_at?.toISOString() ?? null,
    resolvedBy: row.resolved_by,
    resolution: row.resolution,
    resolutionNote: row.resolution_note,
    resolutionTransactionId: row.resolution_transaction_id,
  };
}
