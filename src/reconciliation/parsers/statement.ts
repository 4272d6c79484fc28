/**
 * What every statement parser produces, whatever the bank's format: one statement of one account,
 * its balances and its lines, amounts in integer fen and dates as China dates. A bank's own format
 * (MT940, a host-to-host XML) is one more `StatementParser`.
 */
import type { FieldError } from '../../common/errors/domain.exception';
import { ReconciliationErrorCode, statementRejected } from '../reconciliation.errors';

export type StatementFormat = 'camt053' | 'csv';
export type Direction = 'credit' | 'debit';

export interface StatementLine {
  /** Position in the file: the entry's ordinal (camt.053) or the line number (CSV). */
  lineNo: number;
  /** Where a person finds it: `Ntry[12]` or `line 14`. */
  location: string;
  /** The bank's reference of the movement (AcctSvcrRef / 流水号): unique per account. */
  bankRef: string;
  direction: Direction;
  amountFen: number;
  /** China date (YYYY-MM-DD). */
  bookingDate: string;
  /** ISO instant, when the bank gave a time. */
  bookedAt: string | null;
  valueDate: string | null;
  /** Our instruction id or the payment reference (EndToEndId / 客户参考号). */
  endToEndId: string | null;
  counterpartyAccount: string | null;
  counterpartyName: string | null;
  remittanceInfo: string | null;
  /** The bank booked this to undo an earlier movement (RvslInd, 冲正). */
  reversal: boolean;
}

export interface StatementTotals {
  count: number;
  sumFen: number;
}

/** TxsSummry as the bank stated it (each part optional in ISO 20022). */
export interface StatedSummary {
  entries?: { count?: number; sumFen?: number; netFen?: number };
  credits?: Partial<StatementTotals>;
  debits?: Partial<StatementTotals>;
}

/** What a statement says about itself, known before its first line. */
export interface StatementHeader {
  format: StatementFormat;
  /** `camt.053.001.08`, `csv-utf8`, `csv-gbk`. */
  formatVersion: string;
  accountNo: string;
  currency: string;
  messageId: string | null;
  statementRef: string | null;
  sequenceNo: number | null;
  /** The period (China dates, inclusive); null when the file does not say (a CSV). */
  fromDate: string | null;
  toDate: string | null;
  /** Signed fen (negative: overdrawn); null when not stated (a CSV states it only at its end). */
  openingFen: number | null;
  closingFen: number | null;
  /** Where the opening and closing balances are written, for messages. */
  openingLocation: string;
  closingLocation: string;
}

export interface ParsedStatement extends StatementHeader {
  summary: StatedSummary | null;
  /** Booked entries as the bank counts them in TxsSummry (an entry may hold several lines). */
  entryTotals: { credits: StatementTotals; debits: StatementTotals };
  /** Every line; empty when they were handed to a `sink` as they were read. */
  lines: StatementLine[];
}

/**
 * Receives the lines in batches while the file is read (the header is complete by the first
 * batch), so that a large statement never sits in memory whole.
 */
export type LineSink = (lines: StatementLine[], header: StatementHeader) => Promise<void>;

export interface ParseOptions {
  /** The account the caller says the statement is for (required for a CSV). */
  accountNo?: string;
  /** The charset of the media type, if any. */
  charset?: string;
  /** Where lines go as they are read; without one, they are returned in `lines`. */
  sink?: LineSink;
}

export interface StatementParser {
  readonly format: StatementFormat;
  /** Whether this parser reads the media type (`application/xml`, `text/csv`). */
  accepts(mediaType: string): boolean;
  parse(body: Buffer, options: ParseOptions): Promise<ParsedStatement>;
}

/** Lines handed to a sink at a time. */
export const SINK_BATCH = 1_000;

/** An error of the sink (the import), passed through the parser untouched. */
export class SinkError extends Error {
  constructor(readonly original: unknown) {
    super('sink failed');
  }
}

/** Hands the lines gathered so far to the sink, if there is one and enough have gathered. */
export async function flushLines(
  lines: StatementLine[],
  header: () => StatementHeader,
  sink: LineSink | undefined,
  force = false,
): Promise<void> {
  if (!sink || lines.length === 0 || (!force && lines.length < SINK_BATCH)) return;
  const batch = lines.splice(0, lines.length);
  const known = header();
  try {
    await sink(batch, known);
  } catch (error) {
    throw new SinkError(error);
  }
}

/** Thrown by parsers; the import turns it into a 422 naming the place and the reason. */
export class StatementProblem extends Error {
  constructor(
    readonly code: ReconciliationErrorCode,
    readonly errors: FieldError[],
  ) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }

  toException() {
    return statementRejected(this.code, this.errors);
  }
}

export const malformed = (field: string, message: string) =>
  new StatementProblem(ReconciliationErrorCode.STATEMENT_MALFORMED, [{ field, message }]);

export const invalid = (field: string, message: string) =>
  new StatementProblem(ReconciliationErrorCode.STATEMENT_INVALID, [{ field, message }]);

/** Lets the event loop breathe between chunks of a large file. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Bytes handed to a parser at a time. */
export const CHUNK_BYTES = 1 << 20;
