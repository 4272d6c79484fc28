/**
 * The CSV account statement a Chinese online bank exports (UTF-8 or GBK), read as a stream of
 * records (RFC 4180 quoting; CRLF or LF). The account is named by the caller (`?accountNo=`).
 *
 * Accepted columns, found by their header (any order, other columns ignored; a header may carry a
 * unit such as `借方发生额(元)`); the header row (the first naming 交易日期 and two more of the
 * columns) may follow up to 20 preamble lines:
 *
 * | column | also accepted as | required | content |
 * |---|---|---|---|
 * | 交易日期 | 记账日期 | yes | YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD (China date); may carry the time |
 * | 交易时间 | | no | HH:MM:SS, HH:MM or HHMMSS (China time) |
 * | 借方发生额 | 支出金额 | yes | debit in yuan, at most 2 decimals; empty or 0 on a credit row |
 * | 贷方发生额 | 收入金额 | yes | credit in yuan, at most 2 decimals; empty or 0 on a debit row |
 * | 余额 | 账户余额 | yes | balance after the row, in yuan (may be negative) |
 * | 对方账号 | 对方帐号 | no | counterparty account |
 * | 对方户名 | 对方账户名称 | no | counterparty name |
 * | 摘要 | 用途 | no | remittance text; 冲正, 冲账, 冲销 or 退汇 marks a reversal |
 * | 流水号 | 交易流水号 | yes | the bank's transaction reference, unique per account |
 * | 客户参考号 | 业务参考号 | no | our reference: instruction id or payment reference |
 *
 * Amounts may use thousands separators ("1,234.50", quoted). Rows may run oldest or newest first;
 * each row's balance must follow from the previous one, which also yields the opening balance.
 * Cells written for spreadsheets (`="6222…"`, a leading tab) are unwrapped.
 */
import { isIsoDate } from '../../common/time/china-date';
import { ReconciliationErrorCode } from '../reconciliation.errors';
import { AmountError, addFen, yuanToFen } from './amounts';
import {
  CHUNK_BYTES,
  LineSink,
  ParsedStatement,
  ParseOptions,
  SinkError,
  StatementHeader,
  StatementLine,
  StatementParser,
  StatementProblem,
  flushLines,
  invalid,
  malformed,
  yieldToEventLoop,
} from './statement';

type ColumnKey =
  | 'date'
  | 'time'
  | 'debit'
  | 'credit'
  | 'balance'
  | 'counterpartyAccount'
  | 'counterpartyName'
  | 'summary'
  | 'bankRef'
  | 'customerRef';

export const CSV_COLUMNS: Record<ColumnKey, { names: string[]; required: boolean }> = {
  date: { names: ['交易日期', '记账日期'], required: true },
  time: { names: ['交易时间'], required: false },
  debit: { names: ['借方发生额', '支出金额'], required: true },
  credit: { names: ['贷方发生额', '收入金额'], required: true },
  balance: { names: ['余额', '账户余额'], required: true },
  counterpartyAccount: { names: ['对方账号', '对方帐号'], required: false },
  counterpartyName: { names: ['对方户名', '对方账户名称'], required: false },
  summary: { names: ['摘要', '用途'], required: false },
  bankRef: { names: ['流水号', '交易流水号'], required: true },
  customerRef: { names: ['客户参考号', '业务参考号'], required: false },
};

const REVERSAL = /冲正|冲账|冲销|退汇/;
const MAX_PREAMBLE = 20;
const MAX_FIELD = 1_000;
const MAX_FIELDS = 100;
const UTF8 = ['utf-8', 'utf8'];
const GBK = ['gbk', 'gb2312', 'gb18030', 'cp936'];

class DecodeError extends Error {}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

/** Splits text into records as it arrives, across chunk boundaries. */
class CsvTokenizer {
  private field = '';
  private fields: string[] = [];
  private inQuotes = false;
  private afterQuote = false;
  private afterCr = false;
  private line = 1;
  private recordLine = 1;

  constructor(private readonly onRecord: (fields: string[], line: number) => void) {}

  feed(text: string): void {
    const length = text.length;
    let i = 0;
    while (i < length) {
      if (this.inQuotes) {
        const quote = text.indexOf('"', i);
        const stop = quote < 0 ? length : quote;
        const part = text.slice(i, stop);
        for (let at = part.indexOf('\n'); at >= 0; at = part.indexOf('\n', at + 1)) this.line += 1;
        this.push(part);
        if (quote >= 0) {
          this.inQuotes = false;
          this.afterQuote = true;
        }
        i = stop + 1;
        continue;
      }
      const c = text.charCodeAt(i);
      if (this.afterCr) {
        this.afterCr = false;
        if (c === LF) {
          i += 1;
          continue;
        }
      }
      if (c === QUOTE) {
        if (this.afterQuote) this.push('"'); // "" inside a quoted field
        this.inQuotes = true;
        this.afterQuote = false;
        i += 1;
        continue;
      }
      this.afterQuote = false;
      if (c === COMMA) {
        this.endField();
        i += 1;
      } else if (c === CR || c === LF) {
        this.afterCr = c === CR;
        this.endRecord();
        this.line += 1;
        this.recordLine = this.line;
        i += 1;
      } else {
        // A run of plain characters, taken at once.
        let j = i + 1;
        while (j < length) {
          const d = text.charCodeAt(j);
          if (d === COMMA || d === CR || d === LF || d === QUOTE) break;
          j += 1;
        }
        this.push(text.slice(i, j));
        i = j;
      }
    }
  }

  end(): void {
    if (this.inQuotes) throw malformed(`line ${this.recordLine}`, 'a quoted cell is not closed');
    if (this.field !== '' || this.fields.length > 0) this.endRecord();
  }

  private push(part: string): void {
    this.field += part;
    if (this.field.length > MAX_FIELD) {
      throw malformed(`line ${this.recordLine}`, `a cell longer than ${MAX_FIELD} characters`);
    }
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    if (this.fields.length > MAX_FIELDS) {
      throw malformed(`line ${this.recordLine}`, `more than ${MAX_FIELDS} cells`);
    }
  }

  private endRecord(): void {
    this.endField();
    const fields = this.fields;
    this.fields = [];
    this.onRecord(fields, this.recordLine);
  }
}

/** A cell as written for people and spreadsheets: trimmed, `="…"` and leading tabs unwrapped. */
function cell(value: string | undefined): string {
  if (value === undefined) return '';
  let text = value.replace(/^\uFEFF/, '').trim();
  const formula = /^="(.*)"$/.exec(text);
  if (formula) text = formula[1].trim();
  return text;
}

/** `借方发生额(元)` → `借方发生额`. */
function headerName(value: string): string {
  return cell(value).replace(/\s*[(（][^)）]*[)）]\s*$/, '');
}

function parseDate(text: string, where: string): { date: string; time: string | null } {
  const match = /^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?$/.exec(
    text,
  );
  const date = match ? `${match[1]}-${match[2].padStart(2, '0')}-${match[3].padStart(2, '0')}` : '';
  if (!match || !isIsoDate(date)) {
    throw invalid(`${where}, 交易日期`, `"${text}" is not a date (YYYY-MM-DD)`);
  }
  return { date, time: match[4] ?? null };
}

function parseTime(text: string, where: string): string {
  const match = /^(\d{1,2}):?(\d{2})(?::?(\d{2}))?$/.exec(text);
  if (!match || Number(match[1]) > 23 || Number(match[2]) > 59 || Number(match[3] ?? 0) > 59) {
    throw invalid(`${where}, 交易时间`, `"${text}" is not a time (HH:MM:SS)`);
  }
  return `${match[1].padStart(2, '0')}:${match[2]}:${match[3] ?? '00'}`;
}

function amount(text: string, where: string, column: string, signed = false): number {
  const negative = signed && text.startsWith('-');
  try {
    const fen = yuanToFen(negative ? text.slice(1) : text, { grouping: true });
    return negative ? -fen : fen;
  } catch (error) {
    if (error instanceof AmountError) throw invalid(`${where}, ${column}`, error.message);
    throw error;
  }
}

interface RowMark {
  balance: number;
  signed: number;
  date: string;
  location: string;
}

/**
 * The statement being assembled from the records. Rows may run either way, so the balance chain
 * is followed in both directions at once and the direction decided at the end.
 */
class CsvStatement {
  private columns: Partial<Record<ColumnKey, number>> | null = null;
  private headerWidth = 0;
  private preamble = 0;
  /** Lines not yet handed on. */
  readonly lines: StatementLine[] = [];
  readonly totals = { credits: { count: 0, sumFen: 0 }, debits: { count: 0, sumFen: 0 } };
  private first: RowMark | null = null;
  private previous: RowMark | null = null;
  /** The first row whose balance does not follow, reading oldest first / newest first. */
  private ascendingBreak: string | null = null;
  private descendingBreak: string | null = null;
  minDate: string | null = null;
  maxDate: string | null = null;

  onRecord(fields: string[], line: number): void {
    if (fields.every((field) => cell(field) === '')) return;
    if (!this.columns) {
      this.findHeader(fields, line);
      return;
    }
    this.row(fields, line);
  }

  private findHeader(fields: string[], line: number): void {
    const names = fields.map(headerName);
    const known = Object.values(CSV_COLUMNS).filter((spec) =>
      spec.names.some((n) => names.includes(n)),
    ).length;
    const isHeader = CSV_COLUMNS.date.names.some((n) => names.includes(n)) && known >= 3;
    if (!isHeader) {
      this.preamble += 1;
      if (this.preamble > MAX_PREAMBLE) {
        throw malformed(
          'header',
          `no header row (交易日期, 借方发生额, 贷方发生额, …) in the first ${MAX_PREAMBLE} lines`,
        );
      }
      return;
    }
    const columns: Partial<Record<ColumnKey, number>> = {};
    const missing: string[] = [];
    for (const [key, spec] of Object.entries(CSV_COLUMNS) as [
      ColumnKey,
      (typeof CSV_COLUMNS)[ColumnKey],
    ][]) {
      const index = names.findIndex((name) => spec.names.includes(name));
      if (index >= 0) columns[key] = index;
      else if (spec.required) missing.push(spec.names[0]);
    }
    if (missing.length) {
      throw malformed(`line ${line} (header)`, `missing column ${missing.join(', ')}`);
    }
    this.columns = columns;
    this.headerWidth = fields.length;
  }

  private row(fields: string[], line: number): void {
    const where = `line ${line}`;
    // Some banks end every row with a comma the header lacks: an empty extra cell is harmless.
    const width =
      fields.length > this.headerWidth &&
      fields.slice(this.headerWidth).every((f) => cell(f) === '')
        ? this.headerWidth
        : fields.length;
    if (width !== this.headerWidth) {
      throw malformed(where, `${fields.length} cells, the header has ${this.headerWidth}`);
    }
    const columns = this.columns!;
    const get = (key: ColumnKey) => (columns[key] === undefined ? '' : cell(fields[columns[key]]));

    const { date, time: timeInDate } = parseDate(get('date'), where);
    const timeText = get('time');
    const time = timeText
      ? parseTime(timeText, where)
      : timeInDate
        ? parseTime(timeInDate, where)
        : null;
    const debitText = get('debit');
    const creditText = get('credit');
    const debit = debitText ? amount(debitText, where, '借方发生额') : 0;
    const credit = creditText ? amount(creditText, where, '贷方发生额') : 0;
    if (debit > 0 === credit > 0) {
      throw invalid(
        where,
        debit > 0
          ? 'both 借方发生额 and 贷方发生额 are set'
          : 'neither 借方发生额 nor 贷方发生额 is set',
      );
    }
    const balanceText = get('balance');
    if (!balanceText) throw malformed(`${where}, 余额`, 'is empty');
    const balance = amount(balanceText, where, '余额', true);
    const bankRef = get('bankRef');
    if (!bankRef) throw malformed(`${where}, 流水号`, 'is empty');
    const summary = get('summary');
    const direction = credit > 0 ? 'credit' : 'debit';
    const amountFen = credit > 0 ? credit : debit;
    this.lines.push({
      lineNo: line,
      location: where,
      bankRef,
      direction,
      amountFen,
      bookingDate: date,
      bookedAt: time ? new Date(`${date}T${time}+08:00`).toISOString() : null,
      valueDate: null,
      endToEndId: get('customerRef') || null,
      counterpartyAccount: get('counterpartyAccount') || null,
      counterpartyName: get('counterpartyName') || null,
      remittanceInfo: summary || null,
      reversal: REVERSAL.test(summary),
    });
    const side = direction === 'credit' ? this.totals.credits : this.totals.debits;
    side.count += 1;
    side.sumFen = addFen(side.sumFen, amountFen);
    if (this.minDate === null || date < this.minDate) this.minDate = date;
    if (this.maxDate === null || date > this.maxDate) this.maxDate = date;
    this.follow({
      balance,
      signed: direction === 'credit' ? amountFen : -amountFen,
      date,
      location: where,
    });
  }

  /** Follows the balance chain both ways: older row first, and newer row first. */
  private follow(row: RowMark): void {
    const previous = this.previous;
    if (previous) {
      if (
        this.ascendingBreak === null &&
        (previous.balance + row.signed !== row.balance || previous.date > row.date)
      ) {
        this.ascendingBreak = row.location;
      }
      if (
        this.descendingBreak === null &&
        (row.balance + previous.signed !== previous.balance || previous.date < row.date)
      ) {
        this.descendingBreak = previous.location;
      }
    }
    this.first ??= row;
    this.previous = row;
  }

  /** The opening and closing balances, once every row is in. */
  finish(): { openingFen: number | null; closingFen: number | null } {
    if (!this.columns)
      throw malformed('header', 'no header row (交易日期, 借方发生额, 贷方发生额, …)');
    const first = this.first;
    const last = this.previous;
    if (!first || !last) return { openingFen: null, closingFen: null };
    if (this.ascendingBreak === null) {
      return { openingFen: addFen(first.balance, -first.signed), closingFen: last.balance };
    }
    if (this.descendingBreak === null) {
      return { openingFen: addFen(last.balance, -last.signed), closingFen: first.balance };
    }
    const newestFirst = first.date > last.date;
    throw new StatementProblem(ReconciliationErrorCode.STATEMENT_UNBALANCED, [
      {
        field: `${newestFirst ? this.descendingBreak : this.ascendingBreak}, 余额`,
        message: 'does not follow from the previous row (balance + 贷方 − 借方)',
      },
    ]);
  }
}

export class BankCsvParser implements StatementParser {
  readonly format = 'csv' as const;

  accepts(mediaType: string): boolean {
    return mediaType === 'text/csv' || mediaType === 'application/csv';
  }

  async parse(body: Buffer, options: ParseOptions): Promise<ParsedStatement> {
    const accountNo = options.accountNo;
    if (!accountNo) {
      throw invalid('accountNo', 'a CSV statement names its account with ?accountNo=');
    }
    const charset = options.charset?.toLowerCase();
    if (charset && !UTF8.includes(charset) && !GBK.includes(charset)) {
      throw malformed('charset', `${options.charset}: a CSV statement is UTF-8 or GBK`);
    }
    const hasBom = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
    // Without a charset: UTF-8 if the bytes are UTF-8 (checked before any line is handed on),
    // else GBK.
    const encoding: 'utf-8' | 'gbk' =
      charset && GBK.includes(charset)
        ? 'gbk'
        : charset || hasBom || isUtf8(body)
          ? 'utf-8'
          : 'gbk';
    try {
      return await this.parseAs(body, encoding, accountNo, options.sink);
    } catch (error) {
      if (error instanceof SinkError) throw error.original;
      if (error instanceof DecodeError) {
        throw malformed(error.message, `not valid ${encoding === 'gbk' ? 'GBK' : 'UTF-8'}`);
      }
      throw error;
    }
  }

  private async parseAs(
    body: Buffer,
    encoding: 'utf-8' | 'gbk',
    accountNo: string,
    sink: LineSink | undefined,
  ): Promise<ParsedStatement> {
    const statement = new CsvStatement();
    const tokenizer = new CsvTokenizer((fields, line) => statement.onRecord(fields, line));
    const decoder = new TextDecoder(encoding, { fatal: true });
    const formatVersion = encoding === 'gbk' ? 'csv-gbk' : 'csv-utf8';
    const header = (): StatementHeader => ({
      format: 'csv',
      formatVersion,
      accountNo,
      currency: 'CNY',
      messageId: null,
      statementRef: null,
      sequenceNo: null,
      fromDate: statement.minDate,
      toDate: statement.maxDate,
      openingFen: null,
      closingFen: null,
      openingLocation: 'the first row (余额 − 贷方 + 借方)',
      closingLocation: 'the last row, 余额',
    });
    for (let offset = 0; offset < body.length; offset += CHUNK_BYTES) {
      const end = Math.min(offset + CHUNK_BYTES, body.length);
      let text: string;
      try {
        text = decoder.decode(body.subarray(offset, end), { stream: end < body.length });
      } catch {
        throw new DecodeError(`bytes ${offset}-${end}`);
      }
      tokenizer.feed(text);
      await flushLines(statement.lines, header, sink);
      if (end < body.length) await yieldToEventLoop();
    }
    tokenizer.end();
    const { openingFen, closingFen } = statement.finish();
    await flushLines(statement.lines, header, sink, true);
    return {
      ...header(),
      openingFen,
      closingFen,
      summary: null,
      entryTotals: statement.totals,
      lines: statement.lines,
    };
  }
}

/** Whether the bytes are valid UTF-8 (decoded in chunks, kept nowhere). */
function isUtf8(body: Buffer): boolean {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for (let offset = 0; offset < body.length; offset += CHUNK_BYTES) {
      const end = Math.min(offset + CHUNK_BYTES, body.length);
      decoder.decode(body.subarray(offset, end), { stream: end < body.length });
    }
    return true;
  } catch {
    return false;
  }
}
