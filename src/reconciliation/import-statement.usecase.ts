/**
 * ImportStatement (DESIGN.md §5.6): a statement file from the bank, an operator or the daily fetch
 * is read as a stream, its lines stored batch by batch as they come and the whole checked at the
 * end, all in one transaction: a bad file is refused as a whole (422) and nothing of it is kept,
 * while a large one never sits in memory whole. Matching runs afterwards in the worker
 * (`match-account`).
 *
 * Idempotent twice over: the same statement again (by content, in either format) returns the
 * first import's id, and lines are unique on (account, bank reference), so an overlapping
 * statement adds only what is new. An overlapping statement that disagrees with what is stored
 * (another amount for a reference, another closing balance for a day) is refused.
 */
import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuthErrorCode, authError } from '../auth/auth.errors';
import type { Principal } from '../auth/principal';
import { CommonErrorCode, commonError } from '../common/errors/domain.exception';
import { toFen } from '../common/money/fen';
import { JobName, QueueName } from '../queues/queues';
import { CheckedStatement, StatementChecker } from './check-statement';
import { CustodyAccount, findCustodyAccount, lockAccount } from './custody-account';
import { BankCsvParser } from './parsers/bank-csv.parser';
import { Camt053Parser } from './parsers/camt053.parser';
import { nextDay } from './parsers/dates';
import {
  StatementHeader,
  StatementLine,
  StatementParser,
  StatementProblem,
} from './parsers/statement';
import { MatchAccountJob } from './reconciliation.constants';
import { ReconciliationErrorCode, statementRejected } from './reconciliation.errors';

export type StatementSource = 'bank' | 'operator' | 'job';

export interface ImportStatementCommand {
  body: Buffer;
  /** Lower case, without parameters: `application/xml`, `text/csv`. */
  mediaType: string;
  charset?: string;
  /** Required for a CSV; for XML, when given, must be the statement's account. */
  accountNo?: string;
  fromDate?: string;
  toDate?: string;
  source: StatementSource;
  /** The operator who uploads; none for the bank and the daily job. */
  principal?: Principal;
}

export interface ImportReceipt {
  statementId: string;
  /** The same statement was imported before: nothing was added. */
  duplicate: boolean;
  accountNo: string;
  fromDate: string;
  toDate: string;
  lineCount: number;
  /** Lines not already known from an overlapping statement. */
  newLineCount: number;
}

/** Parsers by media type; a bank's own format is one more entry. */
export const STATEMENT_PARSERS: StatementParser[] = [new Camt053Parser(), new BankCsvParser()];

const INSERT_BATCH = 5_000;
const ENQUEUE_TIMEOUT_MS = 1_000;

@Injectable()
export class ImportStatement {
  private readonly logger = new Logger(ImportStatement.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectQueue(QueueName.Reconciliation) private readonly queue: Queue<MatchAccountJob>,
  ) {}

  async execute(command: ImportStatementCommand): Promise<ImportReceipt> {
    const parser = STATEMENT_PARSERS.find((candidate) => candidate.accepts(command.mediaType));
    if (!parser) {
      throw commonError(
        CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
        'Send a camt.053 statement as application/xml or a bank CSV as text/csv.',
      );
    }
    if (command.body.length === 0) {
      throw statementRejected(ReconciliationErrorCode.STATEMENT_MALFORMED, [
        { field: 'body', message: 'is empty' },
      ]);
    }
    let receipt: ImportReceipt;
    try {
      receipt = await this.dataSource.transaction((manager) =>
        this.importInto(manager, parser, command),
      );
    } catch (error) {
      // The same statement was imported before: what this import wrote is rolled back.
      if (error instanceof AlreadyImported) return error.receipt;
      throw error;
    }
    await this.enqueue(receipt);
    this.logger.log(
      {
        statementId: receipt.statementId,
        lines: receipt.lineCount,
        newLines: receipt.newLineCount,
        source: command.source,
      },
      'statement imported',
    );
    return receipt;
  }

  /**
   * Reads the file and stores its lines as they come (so that a large statement never sits in
   * memory whole), inside one transaction: whatever check fails, at whatever line, nothing stays.
   */
  private async importInto(
    manager: EntityManager,
    parser: StatementParser,
    command: ImportStatementCommand,
  ): Promise<ImportReceipt> {
    const checker = new StatementChecker();
    let started: { account: CustodyAccount; statementId: string } | undefined;
    let inserted = 0;
    const start = async (header: StatementHeader) => {
      started ??= await this.start(manager, header, command);
      return started;
    };
    const parsed = await rejectingProblems(() =>
      parser.parse(command.body, {
        accountNo: command.accountNo,
        charset: command.charset,
        sink: async (lines, header) => {
          checker.add(lines);
          const { account, statementId } = await start(header);
          for (let from = 0; from < lines.length; from += INSERT_BATCH) {
            inserted += await insertLines(
              manager,
              statementId,
              account,
              lines.slice(from, from + INSERT_BATCH),
            );
          }
        },
      }),
    );
    const { account, statementId } = await start(parsed);
    const fromDate = command.fromDate ?? parsed.fromDate;
    const previous = fromDate ? await previousDay(manager, account.accountNo, fromDate) : undefined;
    const checked = await rejectingProblems(() =>
      Promise.resolve(
        checker.finish(parsed, {
          fromDate: command.fromDate,
          toDate: command.toDate,
          previousClosingFen: previous ? toFen(previous.bank_closing_fen) : null,
        }),
      ),
    );
    const [same]: { id: string }[] = await manager.query(
      'SELECT id FROM reconciliation_statements WHERE account_no = $1 AND fingerprint = $2',
      [account.accountNo, checked.fingerprint],
    );
    if (same) throw new AlreadyImported(this.receipt(same.id, true, checked, 0));
    await this.checkContinuity(manager, account, checked, previous);
    await manager.query(
      `UPDATE reconciliation_statements SET
         sequence_no = $2, from_date = $3, to_date = $4, opening_fen = $5, closing_fen = $6,
         credit_count = $7, credit_fen = $8, debit_count = $9, debit_fen = $10,
         line_count = $11, new_line_count = $12, fingerprint = $13
       WHERE id = $1`,
      [
        statementId,
        parsed.sequenceNo,
        checked.fromDate,
        checked.toDate,
        checked.openingFen,
        checked.closingFen,
        checked.credits.count,
        checked.credits.sumFen,
        checked.debits.count,
        checked.debits.sumFen,
        checked.lineCount,
        inserted,
        checked.fingerprint,
      ],
    );
    await manager.query(
      `INSERT INTO reconciliation_days (account_no, day, institution_id, district_id, statement_id, bank_closing_fen)
       SELECT $1, d.day, $2, $3, $4, d.closing
       FROM unnest($5::date[], $6::bigint[]) AS d(day, closing)
       ON CONFLICT (account_no, day) DO NOTHING`,
      [
        account.accountNo,
        account.institutionId,
        account.districtId,
        statementId,
        checked.dayClosings.map((d) => d.day),
        checked.dayClosings.map((d) => d.closingFen),
      ],
    );
    return this.receipt(statementId, false, checked, inserted);
  }

  /**
   * Once the statement's header is read: its account (a custody account, in the operator's
   * district), the account's lock, and a provisional statement row for the lines to hang on
   * (completed when the whole file has passed).
   */
  private async start(
    manager: EntityManager,
    header: StatementHeader,
    command: ImportStatementCommand,
  ): Promise<{ account: CustodyAccount; statementId: string }> {
    if (command.accountNo !== undefined && header.accountNo !== command.accountNo) {
      throw statementRejected(ReconciliationErrorCode.STATEMENT_INVALID, [
        {
          field: 'accountNo',
          message: `the statement is for account ${header.accountNo}, not ${command.accountNo}`,
        },
      ]);
    }
    const account = await findCustodyAccount(manager, header.accountNo);
    if (!account) {
      throw statementRejected(ReconciliationErrorCode.STATEMENT_UNKNOWN_ACCOUNT, [
        {
          field: header.format === 'csv' ? 'accountNo' : 'Stmt/Acct/Id',
          message: `${header.accountNo} is not the custody account of any institution`,
        },
      ]);
    }
    const principal = command.principal;
    if (principal && principal.districtId !== account.districtId) {
      throw authError(
        AuthErrorCode.FORBIDDEN_SCOPE,
        'The account belongs to an institution outside your district.',
      );
    }
    await lockAccount(manager, account.accountNo);
    const placeholderDay = header.fromDate ?? command.fromDate ?? '1970-01-01';
    const [{ id }]: { id: string }[] = await manager.query(
      `INSERT INTO reconciliation_statements (
         account_no, institution_id, district_id, format, format_version, source, imported_by,
         message_id, statement_ref, from_date, to_date, opening_fen, closing_fen,
         credit_count, credit_fen, debit_count, debit_fen, line_count, new_line_count,
         fingerprint, file_sha256, file_bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 0, 0, 0, 0, 0, 0, 0, 0, $11, $12, $13)
       RETURNING id`,
      [
        account.accountNo,
        account.institutionId,
        account.districtId,
        header.format,
        header.formatVersion,
        command.source,
        command.principal?.sub ?? command.source,
        header.messageId?.slice(0, 200) ?? null,
        header.statementRef?.slice(0, 200) ?? null,
        placeholderDay,
        `importing:${randomUUID()}`,
        createHash('sha256').update(command.body).digest('hex'),
        command.body.length,
      ],
    );
    return { account, statementId: id };
  }

  /** Sequence numbers run on without a gap; the opening balance continues the previous day. */
  private async checkContinuity(
    manager: EntityManager,
    account: CustodyAccount,
    checked: CheckedStatement,
    previous: PreviousDay | undefined,
  ): Promise<void> {
    const { parsed } = checked;
    if (parsed.sequenceNo !== null) {
      const [row]: { max_seq: string | null; same_id: string | null }[] = await manager.query(
        `SELECT max(sequence_no)::text AS max_seq,
                (array_agg(id) FILTER (WHERE sequence_no = $2))[1] AS same_id
         FROM reconciliation_statements WHERE account_no = $1`,
        [account.accountNo, parsed.sequenceNo],
      );
      if (row.same_id) {
        throw statementRejected(ReconciliationErrorCode.STATEMENT_CONFLICT, [
          {
            field: 'Stmt/ElctrncSeqNb',
            message: `sequence number ${parsed.sequenceNo} was imported before (statement ${row.same_id}) with other content`,
          },
        ]);
      }
      if (row.max_seq !== null && parsed.sequenceNo > Number(row.max_seq) + 1) {
        throw statementRejected(
          ReconciliationErrorCode.STATEMENT_SEQUENCE_GAP,
          [
            {
              field: 'Stmt/ElctrncSeqNb',
              message: `is ${parsed.sequenceNo}; the account's last statement is ${row.max_seq}, so ${Number(row.max_seq) + 1} is missing`,
            },
          ],
          { expectedSequenceNo: Number(row.max_seq) + 1 },
        );
      }
    }
    if (previous && Number(previous.bank_closing_fen) !== checked.openingFen) {
      const gap = nextDay(previous.day) !== checked.fromDate;
      throw statementRejected(ReconciliationErrorCode.STATEMENT_NOT_CONTINUOUS, [
        {
          field: parsed.openingLocation,
          message:
            `opening balance ${checked.openingFen} fen, but the account closed ${previous.day} ` +
            `at ${previous.bank_closing_fen} fen (statement ${previous.statement_id})` +
            (gap ? `: a statement for ${nextDay(previous.day)} onwards is missing` : ''),
        },
      ]);
    }
    const days: { day: string; bank_closing_fen: string; statement_id: string }[] =
      await manager.query(
        `SELECT day::text AS day, bank_closing_fen, statement_id FROM reconciliation_days
         WHERE account_no = $1 AND day BETWEEN $2 AND $3 ORDER BY day`,
        [account.accountNo, checked.fromDate, checked.toDate],
      );
    const closings = new Map(checked.dayClosings.map((d) => [d.day, d.closingFen]));
    const disagreeing = days.filter((d) => closings.get(d.day) !== Number(d.bank_closing_fen));
    if (disagreeing.length) {
      throw statementRejected(
        ReconciliationErrorCode.STATEMENT_CONFLICT,
        disagreeing.map((d) => ({
          field: `balance at the end of ${d.day}`,
          message: `${closings.get(d.day)} fen here, ${d.bank_closing_fen} fen in statement ${d.statement_id}`,
        })),
      );
    }
  }

  private receipt(
    statementId: string,
    duplicate: boolean,
    checked: CheckedStatement,
    newLineCount: number,
  ): ImportReceipt {
    return {
      statementId,
      duplicate,
      accountNo: checked.parsed.accountNo,
      fromDate: checked.fromDate,
      toDate: checked.toDate,
      lineCount: checked.lineCount,
      newLineCount,
    };
  }

  /**
   * Hands the statement to the matching worker. When Redis is unreachable the import still
   * stands: the sweeper finds statements never matched.
   */
  private async enqueue(receipt: ImportReceipt): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.add(
          JobName.MatchAccount,
          { accountNo: receipt.accountNo, statementId: receipt.statementId },
          { jobId: `match:${receipt.statementId}` },
        ),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('queue timeout')), ENQUEUE_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      this.logger.warn(
        { statementId: receipt.statementId, err: error },
        'enqueue failed; the sweeper will match the statement',
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Unwinds the import's transaction when the statement turns out to be one imported before. */
class AlreadyImported extends Error {
  constructor(readonly receipt: ImportReceipt) {
    super('statement already imported');
  }
}

interface PreviousDay {
  day: string;
  bank_closing_fen: string;
  statement_id: string;
}

/** The last day before `fromDate` whose closing balance an earlier statement gave. */
async function previousDay(
  manager: EntityManager,
  accountNo: string,
  fromDate: string,
): Promise<PreviousDay | undefined> {
  const [row]: PreviousDay[] = await manager.query(
    `SELECT day::text AS day, bank_closing_fen, statement_id FROM reconciliation_days
     WHERE account_no = $1 AND day < $2 ORDER BY day DESC LIMIT 1`,
    [accountNo, fromDate],
  );
  return row;
}

/** Stores a batch of lines; refuses the statement when a known reference says something else. */
async function insertLines(
  manager: EntityManager,
  statementId: string,
  account: CustodyAccount,
  lines: StatementLine[],
): Promise<number> {
  const [row]: { inserted: number; conflicts: ConflictRow[] }[] = await manager.query(
    `WITH n AS (
       SELECT * FROM unnest($4::int[], $5::text[], $6::text[], $7::bigint[], $8::date[],
                            $9::timestamptz[], $10::date[], $11::text[], $12::text[], $13::text[],
                            $14::text[], $15::boolean[])
         AS n(line_no, bank_ref, direction, amount_fen, booking_date, booked_at, value_date,
              end_to_end_id, counterparty_account, counterparty_name, remittance_info, reversal)
     ),
     conflicts AS (
       SELECT n.bank_ref, l.direction, l.amount_fen::text AS amount_fen,
              l.booking_date::text AS booking_date, l.statement_id
       FROM n JOIN reconciliation_lines l ON l.account_no = $2 AND l.bank_ref = n.bank_ref
       WHERE (l.direction, l.amount_fen, l.booking_date)
             IS DISTINCT FROM (n.direction, n.amount_fen, n.booking_date)
       LIMIT 20
     ),
     inserted AS (
       INSERT INTO reconciliation_lines (
         statement_id, account_no, institution_id, line_no, bank_ref, direction, amount_fen,
         booking_date, booked_at, value_date, end_to_end_id, counterparty_account,
         counterparty_name, remittance_info, reversal)
       SELECT $1, $2, $3, n.* FROM n WHERE NOT EXISTS (SELECT 1 FROM conflicts)
       ON CONFLICT (account_no, bank_ref) DO NOTHING
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM inserted)::int AS inserted,
            coalesce((SELECT json_agg(conflicts) FROM conflicts), '[]'::json) AS conflicts`,
    [
      statementId,
      account.accountNo,
      account.institutionId,
      lines.map((l) => l.lineNo),
      lines.map((l) => l.bankRef),
      lines.map((l) => l.direction),
      lines.map((l) => l.amountFen),
      lines.map((l) => l.bookingDate),
      lines.map((l) => l.bookedAt),
      lines.map((l) => l.valueDate),
      lines.map((l) => l.endToEndId),
      lines.map((l) => l.counterpartyAccount),
      lines.map((l) => l.counterpartyName),
      lines.map((l) => l.remittanceInfo),
      lines.map((l) => l.reversal),
    ],
  );
  if (row.conflicts.length) {
    const byRef = new Map(lines.map((line) => [line.bankRef, line]));
    throw statementRejected(
      ReconciliationErrorCode.STATEMENT_CONFLICT,
      row.conflicts.map((conflict) => {
        const line = byRef.get(conflict.bank_ref)!;
        return {
          field: line.location,
          message:
            `bank reference "${conflict.bank_ref}" was imported before (statement ${conflict.statement_id}) ` +
            `as ${conflict.direction} ${conflict.amount_fen} fen on ${conflict.booking_date}; ` +
            `here it is ${line.direction} ${line.amountFen} fen on ${line.bookingDate}`,
        };
      }),
    );
  }
  return row.inserted;
}

interface ConflictRow {
  bank_ref: string;
  direction: string;
  amount_fen: string;
  booking_date: string;
  statement_id: string;
}

/** Runs a parser step, turning its StatementProblem into the 422 the client sees. */
async function rejectingProblems<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof StatementProblem) throw error.toException();
    throw error;
  }
}
