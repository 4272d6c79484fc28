/**
 * The checks every statement passes before its import commits, whatever its format: the period
 * holds every line, references are unique, opening + credits − debits = closing, and the totals
 * equal the bank's TxsSummry where it states them. Also derives what the import stores: each
 * day's closing balance and the statement's content fingerprint.
 */
import { createHash } from 'node:crypto';
import type { FieldError } from '../common/errors/domain.exception';
import { addFen } from './parsers/amounts';
import { daysBetween, nextDay } from './parsers/dates';
import {
  ParsedStatement,
  StatementLine,
  StatementProblem,
  StatementTotals,
} from './parsers/statement';
import { ReconciliationErrorCode } from './reconciliation.errors';

/** Longest period one statement may cover. */
export const MAX_STATEMENT_DAYS = 366;
const MAX_REF = 200;
const MAX_TEXT = 500;

export interface CheckedStatement {
  parsed: ParsedStatement;
  fromDate: string;
  toDate: string;
  openingFen: number;
  closingFen: number;
  credits: StatementTotals;
  debits: StatementTotals;
  lineCount: number;
  /** The bank's balance at the end of every day of the period. */
  dayClosings: { day: string; closingFen: number }[];
  /** SHA-256 of the content: the same statement, however delivered, has the same fingerprint. */
  fingerprint: string;
}

export interface CheckOptions {
  /** A period named by the caller (a CSV does not state one). */
  fromDate?: string;
  toDate?: string;
  /**
   * The bank's closing balance before the period, from earlier statements: the opening balance of
   * a statement that states none (a CSV without rows).
   */
  previousClosingFen?: number | null;
}

function reject(code: ReconciliationErrorCode, errors: FieldError[]): never {
  throw new StatementProblem(code, errors);
}

/**
 * A string of its own. A parser's strings may be slices of the chunk of the file they came from,
 * and a slice kept keeps its whole chunk: what the checker keeps for the whole file is copied.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

interface Mark {
  date: string;
  location: string;
}

/**
 * Checks a statement's lines as they stream by (`add`), keeping only what the final checks need
 * (references seen, sums, the net of each day, the earliest and latest line), then the statement
 * as a whole (`finish`).
 */
export class StatementChecker {
  private readonly seen = new Map<string, string>();
  readonly credits = { count: 0, sumFen: 0 };
  readonly debits = { count: 0, sumFen: 0 };
  private readonly netByDay = new Map<string, number>();
  private earliest: Mark | null = null;
  private latest: Mark | null = null;
  /** Every line's reference, direction, amount and date: hashed in order at the end. */
  private readonly keys: string[] = [];

  add(lines: StatementLine[]): void {
    const errors: FieldError[] = [];
    for (const line of lines) {
      if (line.bankRef.length > MAX_REF) {
        errors.push({
          field: line.location,
          message: `reference longer than ${MAX_REF} characters`,
        });
      }
      const earlier = this.seen.get(line.bankRef);
      if (earlier !== undefined) {
        errors.push({
          field: line.location,
          message: `bank reference "${line.bankRef}" also appears at ${earlier}`,
        });
        continue;
      }
      const ref = ownCopy(line.bankRef);
      this.seen.set(ref, line.location);
      this.keys.push(`${ref}\t${line.direction}\t${line.amountFen}\t${line.bookingDate}\n`);
      if (line.endToEndId !== null && line.endToEndId.length > MAX_REF) {
        errors.push({
          field: line.location,
          message: `EndToEndId longer than ${MAX_REF} characters`,
        });
      }
      if (errors.length >= 20) break;
      line.counterpartyName = line.counterpartyName?.slice(0, MAX_TEXT) ?? null;
      line.counterpartyAccount = line.counterpartyAccount?.slice(0, MAX_REF) ?? null;
      line.remittanceInfo = line.remittanceInfo?.slice(0, MAX_TEXT) ?? null;
      const side = line.direction === 'credit' ? this.credits : this.debits;
      side.count += 1;
      side.sumFen = addFen(side.sumFen, line.amountFen);
      const signed = line.direction === 'credit' ? line.amountFen : -line.amountFen;
      this.netByDay.set(line.bookingDate, addFen(this.netByDay.get(line.bookingDate) ?? 0, signed));
      if (this.earliest === null || line.bookingDate < this.earliest.date) {
        this.earliest = { date: line.bookingDate, location: line.location };
      }
      if (this.latest === null || line.bookingDate > this.latest.date) {
        this.latest = { date: line.bookingDate, location: line.location };
      }
    }
    if (errors.length) reject(ReconciliationErrorCode.STATEMENT_INVALID, errors);
  }

  get lineCount(): number {
    return this.credits.count + this.debits.count;
  }

  finish(parsed: ParsedStatement, options: CheckOptions = {}): CheckedStatement {
    const { INVALID, UNBALANCED } = {
      INVALID: ReconciliationErrorCode.STATEMENT_INVALID,
      UNBALANCED: ReconciliationErrorCode.STATEMENT_UNBALANCED,
    };
    const fromDate = options.fromDate ?? parsed.fromDate;
    const toDate = options.toDate ?? parsed.toDate;
    if (!fromDate || !toDate) {
      reject(INVALID, [
        { field: 'from', message: 'a statement without rows names its period with ?from=&to=' },
      ]);
    }
    if (fromDate > toDate) {
      reject(INVALID, [
        { field: 'period', message: `ends (${toDate}) before it starts (${fromDate})` },
      ]);
    }
    if (daysBetween(fromDate, toDate) >= MAX_STATEMENT_DAYS) {
      reject(INVALID, [
        { field: 'period', message: `covers more than ${MAX_STATEMENT_DAYS} days` },
      ]);
    }
    const outside = [this.earliest, this.latest].filter(
      (mark, index, marks): mark is Mark =>
        mark !== null &&
        (mark.date < fromDate || mark.date > toDate) &&
        marks.indexOf(mark) === index,
    );
    if (outside.length) {
      reject(
        INVALID,
        outside.map((mark) => ({
          field: mark.location,
          message: `booked on ${mark.date}, outside the statement's period ${fromDate}..${toDate}`,
        })),
      );
    }
    const openingFen = parsed.openingFen ?? options.previousClosingFen ?? null;
    if (openingFen === null) {
      reject(INVALID, [
        {
          field: 'balance',
          message:
            'the statement states no balance and no earlier statement of the account gives one',
        },
      ]);
    }
    const closingFen = parsed.closingFen ?? openingFen;
    const computed = addFen(openingFen, this.credits.sumFen - this.debits.sumFen);
    if (computed !== closingFen) {
      reject(UNBALANCED, [
        {
          field: parsed.closingLocation,
          message:
            `opening ${openingFen} + credits ${this.credits.sumFen} − debits ${this.debits.sumFen} = ` +
            `${computed} fen, but the closing balance is ${closingFen} fen`,
        },
      ]);
    }
    checkSummary(parsed);

    const dayClosings: { day: string; closingFen: number }[] = [];
    let running = openingFen;
    for (let day = fromDate; day <= toDate; day = nextDay(day)) {
      running = addFen(running, this.netByDay.get(day) ?? 0);
      dayClosings.push({ day, closingFen: running });
    }
    // By reference, so that the same lines in another order or format hash the same.
    const hash = createHash('sha256').update(
      `${parsed.accountNo}\n${fromDate}\n${toDate}\n${openingFen}\n${closingFen}\n`,
    );
    this.keys.sort();
    for (const key of this.keys) hash.update(key);
    const fingerprint = hash.digest('hex');
    return {
      parsed,
      fromDate,
      toDate,
      openingFen,
      closingFen,
      credits: { ...this.credits },
      debits: { ...this.debits },
      lineCount: this.lineCount,
      dayClosings,
      fingerprint,
    };
  }
}

/** Checks a statement read whole (its `lines` all there). */
export function checkStatement(
  parsed: ParsedStatement,
  options: CheckOptions = {},
): CheckedStatement {
  const checker = new StatementChecker();
  checker.add(parsed.lines);
  return checker.finish(parsed, options);
}

/** The totals against TxsSummry, where the bank states them. */
function checkSummary(parsed: ParsedStatement): void {
  const summary = parsed.summary;
  if (!summary) return;
  const { credits, debits } = parsed.entryTotals;
  const errors: FieldError[] = [];
  const compare = (stated: number | undefined, actual: number, field: string, what: string) => {
    if (stated !== undefined && stated !== actual) {
      errors.push({
        field: `Stmt/TxsSummry/${field}`,
        message: `states ${stated}, the entries give ${actual} (${what})`,
      });
    }
  };
  compare(summary.entries?.count, credits.count + debits.count, 'TtlNtries/NbOfNtries', 'entries');
  compare(
    summary.entries?.sumFen,
    addFen(credits.sumFen, debits.sumFen),
    'TtlNtries/Sum',
    'fen, credits and debits',
  );
  compare(
    summary.entries?.netFen,
    credits.sumFen - debits.sumFen,
    'TtlNtries/TtlNetNtry',
    'fen, net',
  );
  compare(summary.credits?.count, credits.count, 'TtlCdtNtries/NbOfNtries', 'credit entries');
  compare(summary.credits?.sumFen, credits.sumFen, 'TtlCdtNtries/Sum', 'fen of credits');
  compare(summary.debits?.count, debits.count, 'TtlDbtNtries/NbOfNtries', 'debit entries');
  compare(summary.debits?.sumFen, debits.sumFen, 'TtlDbtNtries/Sum', 'fen of debits');
  if (errors.length) reject(ReconciliationErrorCode.STATEMENT_UNBALANCED, errors);
}
