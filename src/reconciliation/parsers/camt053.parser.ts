/**
 * ISO 20022 camt.053 (BankToCustomerStatement), versions 001.02 and 001.08, read as a stream with
 * saxes: the file is fed in chunks and only what a statement needs is kept. A DOCTYPE is refused
 * outright, so no DTD, external entity or entity expansion is ever processed (XXE, "billion
 * laughs"); nesting depth and text length are bounded.
 *
 * What is read: GrpHdr/MsgId; one Stmt with Id, ElctrncSeqNb (else LglSeqNb), FrToDt, Acct (Id
 * IBAN or Othr/Id, Ccy), Bal OPBD (or PRCD) and CLBD, TxsSummry; each booked Ntry with Amt,
 * CdtDbtInd, RvslInd, Sts, BookgDt, ValDt, AcctSvcrRef (else NtryRef) and NtryDtls/TxDtls: Refs
 * (AcctSvcrRef, EndToEndId), amount, related parties (the debtor of a credit, the creditor of a
 * debit) and unstructured remittance information. An entry booking several transactions (a
 * batch) becomes one line per TxDtls. Entries not booked (PDNG, INFO) are skipped.
 */
import { SaxesParser, SaxesTagPlain } from 'saxes';
import { ReconciliationErrorCode } from '../reconciliation.errors';
import { AmountError, addFen, yuanToFen } from './amounts';
import { DateError, parseIsoDate, parseIsoDateTime } from './dates';
import {
  CHUNK_BYTES,
  Direction,
  LineSink,
  ParsedStatement,
  ParseOptions,
  SinkError,
  StatementHeader,
  flushLines,
  StatedSummary,
  StatementLine,
  StatementParser,
  StatementProblem,
  invalid,
  malformed,
  yieldToEventLoop,
} from './statement';

const NAMESPACE_PREFIX = 'urn:iso:std:iso:20022:tech:xsd:';
/** The versions read and tested; another is one line here once its fixtures pass. */
export const CAMT053_VERSIONS = ['camt.053.001.02', 'camt.053.001.08'] as const;
const MAX_DEPTH = 32;
const MAX_TEXT = 4_096;
/** Distinct element paths remembered: far more than camt.053 has, far fewer than an attack needs. */
const MAX_PATHS = 10_000;
const NOT_PROVIDED = 'NOTPROVIDED';

type Context = 'doc' | 'stmt' | 'bal' | 'ntry' | 'tx';

interface Frame {
  context: Context;
  /** Path below the context's element, e.g. `Acct/Id/Othr/Id`. */
  path: string;
  hasChildren: boolean;
}

interface Amount {
  text: string;
  currency: string | null;
}

interface BalanceState {
  code: string | null;
  amount: Amount | null;
  indicator: string | null;
  date: string | null;
  dateTime: string | null;
  where: string;
}

interface TxState {
  acctSvcrRef: string | null;
  endToEndId: string | null;
  amount: Amount | null;
  indicator: string | null;
  debtorName: string | null;
  debtorAccount: string | null;
  creditorName: string | null;
  creditorAccount: string | null;
  remittance: string[];
}

interface EntryState {
  ordinal: number;
  where: string;
  ntryRef: string | null;
  acctSvcrRef: string | null;
  amount: Amount | null;
  indicator: string | null;
  reversal: string | null;
  status: string | null;
  bookingDate: string | null;
  bookingDateTime: string | null;
  valueDate: string | null;
  valueDateTime: string | null;
  txs: TxState[];
}

const newTx = (): TxState => ({
  acctSvcrRef: null,
  endToEndId: null,
  amount: null,
  indicator: null,
  debtorName: null,
  debtorAccount: null,
  creditorName: null,
  creditorAccount: null,
  remittance: [],
});

function fen(text: string, field: string): number {
  try {
    return yuanToFen(text);
  } catch (error) {
    if (error instanceof AmountError) throw invalid(field, error.message);
    throw error;
  }
}

function direction(indicator: string | null, where: string): Direction {
  if (indicator === 'CRDT') return 'credit';
  if (indicator === 'DBIT') return 'debit';
  throw indicator === null
    ? malformed(`${where}/CdtDbtInd`, 'is missing')
    : invalid(`${where}/CdtDbtInd`, `"${indicator}" is neither CRDT nor DBIT`);
}

function count(text: string, where: string): number {
  if (!/^\d{1,15}$/.test(text)) throw invalid(where, `"${text}" is not a number of entries`);
  return Number(text);
}

/** One camt.053 file being read. */
class Camt053Reader {
  readonly parser: SaxesParser<{ xmlns: false; position: boolean }>;
  /** Namespace declarations in scope: the element depth that made each, innermost last. */
  private readonly namespaces: { depth: number; prefixes: Record<string, string> }[] = [];
  /** Elements open, skipped ones included (namespace scopes follow it). */
  private depth = 0;
  private readonly frames: Frame[] = [];
  private text = '';
  /** Depth of an element from a foreign namespace being skipped (0: none). */
  private skipping = 0;
  private version: string | null = null;
  private statements = 0;

  private messageId: string | null = null;
  private statementRef: string | null = null;
  private electronicSeq: string | null = null;
  private legalSeq: string | null = null;
  private fromDateTime: string | null = null;
  private toDateTime: string | null = null;
  private accountIban: string | null = null;
  private accountOther: string | null = null;
  private currency: string | null = null;
  private opening: BalanceState | null = null;
  private closing: BalanceState | null = null;
  private balance: BalanceState | null = null;
  private summaryText: Record<string, string> = {};
  private entry: EntryState | null = null;
  private tx: TxState | null = null;
  private entryOrdinal = 0;

  readonly lines: StatementLine[] = [];
  private readonly totals = { credits: { count: 0, sumFen: 0 }, debits: { count: 0, sumFen: 0 } };

  /**
   * `positions`: track line numbers for messages. Off for speed; a refused file is read again
   * with them on, to name the line.
   */
  constructor(private readonly positions: boolean) {
    this.parser = new SaxesParser({ xmlns: false, position: positions });
    this.parser.on('xmldecl', (decl) => {
      if (decl.encoding && !/^utf-?8$/i.test(decl.encoding)) {
        throw malformed('xml', `encoding ${decl.encoding}: camt.053 files must be UTF-8`);
      }
    });
    this.parser.on('doctype', () => {
      throw malformed(
        this.at('DOCTYPE'),
        'a DOCTYPE is not allowed (no DTDs or entities are processed)',
      );
    });
    this.parser.on('error', (error) => {
      throw malformed(
        this.at('xml'),
        `not well-formed: ${error.message.replace(/^.*?:\d+:\d+: /, '')}`,
      );
    });
    this.parser.on('opentag', (tag) => this.open(tag));
    this.parser.on('closetag', () => this.close());
    this.parser.on('text', (text) => this.append(text));
    this.parser.on('cdata', (text) => this.append(text));
  }

  private at(field: string): string {
    return this.positions ? `${field} (line ${this.parser.line})` : field;
  }

  private append(text: string): void {
    if (this.skipping || this.frames.length === 0) return;
    this.text += text;
    if (this.text.length > MAX_TEXT) {
      throw malformed(this.at(this.where()), `text longer than ${MAX_TEXT} characters`);
    }
  }

  private where(): string {
    const frame = this.frames[this.frames.length - 1];
    if (!frame) return 'Document';
    const base =
      frame.context === 'ntry' || frame.context === 'tx'
        ? `Ntry[${this.entryOrdinal}]${frame.context === 'tx' ? '/NtryDtls/TxDtls' : ''}`
        : frame.context === 'bal'
          ? 'Stmt/Bal'
          : frame.context === 'stmt'
            ? 'Stmt'
            : 'Document';
    return frame.path ? `${base}/${frame.path}` : base;
  }

  /** `Acct/Id` + `Othr` → `Acct/Id/Othr`, from a cache: the same few paths repeat per entry. */
  private childPath(parent: string, local: string): string {
    let children = this.paths.get(parent);
    if (!children) {
      children = new Map();
      this.paths.set(parent, children);
    }
    let path = children.get(local);
    if (path === undefined) {
      this.pathCount += 1;
      if (this.pathCount > MAX_PATHS) throw malformed(this.at(local), 'too many distinct elements');
      path = parent ? `${parent}/${local}` : local;
      children.set(local, path);
    }
    return path;
  }

  private readonly paths = new Map<string, Map<string, string>>();
  private pathCount = 0;

  /** The namespace of a qualified name, from the declarations in scope. */
  private namespaceOf(prefix: string): string | undefined {
    for (let i = this.namespaces.length - 1; i >= 0; i--) {
      const uri = this.namespaces[i].prefixes[prefix];
      if (uri !== undefined) return uri;
    }
    return prefix === '' ? '' : undefined;
  }

  private open(tag: SaxesTagPlain): void {
    this.depth += 1;
    let declared: Record<string, string> | undefined;
    for (const name in tag.attributes) {
      if (name === 'xmlns' || name.startsWith('xmlns:')) {
        declared ??= {};
        declared[name === 'xmlns' ? '' : name.slice(6)] = tag.attributes[name];
      }
    }
    if (declared) this.namespaces.push({ depth: this.depth, prefixes: declared });
    if (this.skipping) {
      this.skipping += 1;
      return;
    }
    const colon = tag.name.indexOf(':');
    const local = colon < 0 ? tag.name : tag.name.slice(colon + 1);
    const uri = this.namespaceOf(colon < 0 ? '' : tag.name.slice(0, colon));
    if (uri === undefined) {
      throw malformed(this.at(tag.name), `prefix of ${tag.name} is not declared`);
    }
    if (this.frames.length >= MAX_DEPTH) {
      throw malformed(this.at(local), `elements nested deeper than ${MAX_DEPTH}`);
    }
    const parent = this.frames[this.frames.length - 1];
    if (!parent) {
      const version = uri.startsWith(NAMESPACE_PREFIX) ? uri.slice(NAMESPACE_PREFIX.length) : '';
      if (local !== 'Document' || !(CAMT053_VERSIONS as readonly string[]).includes(version)) {
        throw malformed(
          this.at(local),
          `not a camt.053 Document: expected namespace ${NAMESPACE_PREFIX}${CAMT053_VERSIONS.join(' or ')}, found "${uri}"`,
        );
      }
      this.version = version;
      this.frames.push({ context: 'doc', path: '', hasChildren: false });
      this.text = '';
      return;
    }
    if (uri !== NAMESPACE_PREFIX + this.version) {
      // Supplementary data in another namespace: not ours to read.
      this.skipping = 1;
      return;
    }
    parent.hasChildren = true;
    let frame: Frame;
    if (parent.context === 'doc' && parent.path === 'BkToCstmrStmt' && local === 'Stmt') {
      this.statements += 1;
      if (this.statements > 1) {
        throw invalid(this.at('Stmt'), 'one statement (Stmt) per file');
      }
      frame = { context: 'stmt', path: '', hasChildren: false };
    } else if (parent.context === 'stmt' && parent.path === '' && local === 'Ntry') {
      this.entryOrdinal += 1;
      this.entry = {
        ordinal: this.entryOrdinal,
        where: this.at(`Ntry[${this.entryOrdinal}]`),
        ntryRef: null,
        acctSvcrRef: null,
        amount: null,
        indicator: null,
        reversal: null,
        status: null,
        bookingDate: null,
        bookingDateTime: null,
        valueDate: null,
        valueDateTime: null,
        txs: [],
      };
      frame = { context: 'ntry', path: '', hasChildren: false };
    } else if (parent.context === 'stmt' && parent.path === '' && local === 'Bal') {
      this.balance = {
        code: null,
        amount: null,
        indicator: null,
        date: null,
        dateTime: null,
        where: this.at('Bal'),
      };
      frame = { context: 'bal', path: '', hasChildren: false };
    } else if (parent.context === 'ntry' && parent.path === 'NtryDtls' && local === 'TxDtls') {
      this.tx = newTx();
      frame = { context: 'tx', path: '', hasChildren: false };
    } else {
      frame = {
        context: parent.context,
        path: this.childPath(parent.path, local),
        hasChildren: false,
      };
      if (local === 'Amt') {
        const currency = tag.attributes.Ccy ?? null;
        this.pendingCurrency = currency;
      }
    }
    this.frames.push(frame);
    this.text = '';
  }

  private pendingCurrency: string | null = null;

  private amount(value: string): Amount {
    return { text: value, currency: this.pendingCurrency };
  }

  private close(): void {
    const top = this.namespaces[this.namespaces.length - 1];
    if (top?.depth === this.depth) this.namespaces.pop();
    this.depth -= 1;
    if (this.skipping) {
      this.skipping -= 1;
      return;
    }
    const frame = this.frames[this.frames.length - 1];
    const value = frame.hasChildren ? '' : this.text.trim();
    switch (frame.context) {
      case 'doc':
        this.closeDocument(frame.path, value);
        break;
      case 'stmt':
        this.closeStatement(frame.path, value);
        break;
      case 'bal':
        this.closeBalance(frame.path, value);
        break;
      case 'ntry':
        this.closeEntry(frame.path, value);
        break;
      case 'tx':
        this.closeTx(frame.path, value);
        break;
    }
    this.frames.pop();
    this.text = '';
  }

  private closeDocument(path: string, value: string): void {
    if (path === 'BkToCstmrStmt/GrpHdr/MsgId') this.messageId = value;
  }

  private closeStatement(path: string, value: string): void {
    switch (path) {
      case 'Id':
        this.statementRef = value;
        break;
      case 'ElctrncSeqNb':
        this.electronicSeq = value;
        break;
      case 'LglSeqNb':
        this.legalSeq = value;
        break;
      case 'FrToDt/FrDtTm':
        this.fromDateTime = value;
        break;
      case 'FrToDt/ToDtTm':
        this.toDateTime = value;
        break;
      case 'Acct/Id/IBAN':
        this.accountIban = value;
        break;
      case 'Acct/Id/Othr/Id':
        this.accountOther = value;
        break;
      case 'Acct/Ccy':
        this.currency = value;
        break;
      default:
        if (path.startsWith('TxsSummry/') && value) this.summaryText[path.slice(10)] = value;
    }
  }

  private closeBalance(path: string, value: string): void {
    const balance = this.balance!;
    switch (path) {
      case '':
        this.endBalance(balance);
        break;
      case 'Tp/CdOrPrtry/Cd':
      case 'Tp/CdOrPrtry/Prtry':
        balance.code = value;
        break;
      case 'Amt':
        balance.amount = this.amount(value);
        break;
      case 'CdtDbtInd':
        balance.indicator = value;
        break;
      case 'Dt/Dt':
        balance.date = value;
        break;
      case 'Dt/DtTm':
        balance.dateTime = value;
        break;
    }
  }

  private endBalance(balance: BalanceState): void {
    const code = balance.code;
    if (code === 'OPBD' || code === 'PRCD') {
      if (this.opening && (this.opening.code === code || code === 'PRCD')) {
        if (this.opening.code === code) {
          throw invalid(balance.where, `more than one ${code} balance`);
        }
        return; // OPBD wins over PRCD
      }
      this.opening = balance;
    } else if (code === 'CLBD') {
      if (this.closing) throw invalid(balance.where, 'more than one CLBD balance');
      this.closing = balance;
    }
    this.balance = null;
  }

  private closeEntry(path: string, value: string): void {
    const entry = this.entry!;
    switch (path) {
      case '':
        this.endEntry(entry);
        this.entry = null;
        break;
      case 'NtryRef':
        entry.ntryRef = value;
        break;
      case 'AcctSvcrRef':
        entry.acctSvcrRef = value;
        break;
      case 'Amt':
        entry.amount = this.amount(value);
        break;
      case 'CdtDbtInd':
        entry.indicator = value;
        break;
      case 'RvslInd':
        entry.reversal = value;
        break;
      case 'Sts': // 001.02: the code itself
      case 'Sts/Cd': // 001.08
        if (value) entry.status = value;
        break;
      case 'BookgDt/Dt':
        entry.bookingDate = value;
        break;
      case 'BookgDt/DtTm':
        entry.bookingDateTime = value;
        break;
      case 'ValDt/Dt':
        entry.valueDate = value;
        break;
      case 'ValDt/DtTm':
        entry.valueDateTime = value;
        break;
    }
  }

  private closeTx(path: string, value: string): void {
    const tx = this.tx!;
    switch (path) {
      case '':
        this.entry!.txs.push(tx);
        this.tx = null;
        break;
      case 'Refs/AcctSvcrRef':
        tx.acctSvcrRef = value;
        break;
      case 'Refs/EndToEndId':
        tx.endToEndId = value;
        break;
      case 'Amt': // 001.08
        tx.amount = this.amount(value);
        break;
      case 'AmtDtls/TxAmt/Amt': // 001.02
        tx.amount ??= this.amount(value);
        break;
      case 'CdtDbtInd':
        tx.indicator = value;
        break;
      case 'RltdPties/Dbtr/Nm': // 001.02
      case 'RltdPties/Dbtr/Pty/Nm': // 001.08
        tx.debtorName = value;
        break;
      case 'RltdPties/DbtrAcct/Id/IBAN':
      case 'RltdPties/DbtrAcct/Id/Othr/Id':
        tx.debtorAccount = value;
        break;
      case 'RltdPties/Cdtr/Nm':
      case 'RltdPties/Cdtr/Pty/Nm':
        tx.creditorName = value;
        break;
      case 'RltdPties/CdtrAcct/Id/IBAN':
      case 'RltdPties/CdtrAcct/Id/Othr/Id':
        tx.creditorAccount = value;
        break;
      case 'RmtInf/Ustrd':
        if (value) tx.remittance.push(value);
        break;
    }
  }

  private endEntry(entry: EntryState): void {
    const where = entry.where;
    if (entry.status === null) throw malformed(`${where}/Sts`, 'is missing');
    // Only booked entries move the balance; pending and information-only ones are not lines.
    if (entry.status !== 'BOOK') return;
    if (!entry.amount) throw malformed(`${where}/Amt`, 'is missing');
    const amountFen = fen(entry.amount.text, `${where}/Amt`);
    this.checkCurrency(entry.amount, `${where}/Amt`);
    if (amountFen <= 0) throw invalid(`${where}/Amt`, 'an entry must move more than 0');
    const dir = direction(entry.indicator, where);
    let reversal = false;
    if (entry.reversal !== null) {
      if (!['true', 'false', '1', '0'].includes(entry.reversal)) {
        throw invalid(`${where}/RvslInd`, `"${entry.reversal}" is not a boolean`);
      }
      reversal = entry.reversal === 'true' || entry.reversal === '1';
    }
    let bookingDate: string;
    let bookedAt: string | null = null;
    try {
      if (entry.bookingDateTime) {
        const parsed = parseIsoDateTime(entry.bookingDateTime);
        bookingDate = parsed.date;
        bookedAt = parsed.instant;
      } else if (entry.bookingDate) {
        bookingDate = parseIsoDate(entry.bookingDate);
      } else {
        throw malformed(`${where}/BookgDt`, 'is missing');
      }
    } catch (error) {
      if (error instanceof DateError) throw invalid(`${where}/BookgDt`, error.message);
      throw error;
    }
    let valueDate: string | null = null;
    try {
      if (entry.valueDate) valueDate = parseIsoDate(entry.valueDate);
      else if (entry.valueDateTime) valueDate = parseIsoDateTime(entry.valueDateTime).date;
    } catch (error) {
      if (error instanceof DateError) throw invalid(`${where}/ValDt`, error.message);
      throw error;
    }
    const single = entry.txs.length <= 1 ? entry.txs[0] : undefined;
    // The bank's reference of the movement; NtryRef (often a counter within the statement) last.
    const entryRef = entry.acctSvcrRef || single?.acctSvcrRef || entry.ntryRef || null;
    if (!entryRef) {
      throw malformed(`${where}/AcctSvcrRef`, 'the entry has no AcctSvcrRef or NtryRef');
    }
    const base: LineBase = {
      direction: dir,
      bookingDate,
      bookedAt,
      valueDate,
      reversal,
      lineNo: entry.ordinal,
    };
    const totals = dir === 'credit' ? this.totals.credits : this.totals.debits;
    totals.count += 1;
    try {
      totals.sumFen = addFen(totals.sumFen, amountFen);
    } catch (error) {
      if (error instanceof AmountError) throw invalid(`${where}/Amt`, error.message);
      throw error;
    }

    if (entry.txs.length <= 1) {
      this.lines.push(line(base, single, entryRef, amountFen, where));
      return;
    }
    // A batch booking: one line per transaction, which must add up to the entry.
    let sum = 0;
    const refs = new Set<string>();
    entry.txs.forEach((tx, index) => {
      const txWhere = `${where}/NtryDtls/TxDtls[${index + 1}]`;
      if (!tx.amount) {
        throw malformed(`${txWhere}/Amt`, 'each transaction of a batch entry needs its amount');
      }
      const txFen = fen(tx.amount.text, `${txWhere}/Amt`);
      this.checkCurrency(tx.amount, `${txWhere}/Amt`);
      if (txFen <= 0) throw invalid(`${txWhere}/Amt`, 'a transaction must move more than 0');
      if (tx.indicator !== null && direction(tx.indicator, txWhere) !== dir) {
        throw invalid(`${txWhere}/CdtDbtInd`, 'differs from the entry it belongs to');
      }
      sum += txFen;
      const ref =
        tx.acctSvcrRef && tx.acctSvcrRef !== entryRef ? tx.acctSvcrRef : `${entryRef}/${index + 1}`;
      if (refs.has(ref)) throw invalid(`${txWhere}/Refs/AcctSvcrRef`, `"${ref}" appears twice`);
      refs.add(ref);
      this.lines.push(line(base, tx, ref, txFen, txWhere));
    });
    if (sum !== amountFen) {
      throw new StatementProblem(ReconciliationErrorCode.STATEMENT_UNBALANCED, [
        {
          field: `${where}/NtryDtls`,
          message: `the transactions add up to ${sum} fen, the entry to ${amountFen} fen`,
        },
      ]);
    }
  }

  private checkCurrency(amount: Amount, field: string): void {
    const expected = this.currency ?? 'CNY';
    if (amount.currency !== null && amount.currency !== expected) {
      throw invalid(field, `currency ${amount.currency}, the account is in ${expected}`);
    }
  }

  /**
   * What the statement says about itself; complete before the first entry (ISO 20022 orders
   * Acct, Bal and TxsSummry before Ntry).
   */
  header(): StatementHeader {
    if (!this.version) throw malformed('Document', 'the file is empty');
    if (this.statements === 0) throw malformed('BkToCstmrStmt/Stmt', 'is missing');
    const accountNo = this.accountOther || this.accountIban;
    if (!accountNo) throw malformed('Stmt/Acct/Id', 'is missing');
    const currency = this.currency ?? 'CNY';
    if (currency !== 'CNY') {
      throw invalid('Stmt/Acct/Ccy', `${currency}: custody accounts are in CNY`);
    }
    if (!this.opening) throw malformed('Stmt/Bal', 'no opening balance (OPBD or PRCD)');
    if (!this.closing) throw malformed('Stmt/Bal', 'no closing balance (CLBD)');
    const opening = this.balanceValue(this.opening);
    const closing = this.balanceValue(this.closing);

    let fromDate = opening.date;
    let toDate = closing.date;
    try {
      if (this.fromDateTime) fromDate = parseIsoDateTime(this.fromDateTime).date;
      if (this.toDateTime) toDate = parseIsoDateTime(this.toDateTime).date;
    } catch (error) {
      if (error instanceof DateError) throw invalid('Stmt/FrToDt', error.message);
      throw error;
    }
    const sequence = this.electronicSeq ?? this.legalSeq;
    let sequenceNo: number | null = null;
    if (sequence !== null) {
      if (!/^\d{1,15}$/.test(sequence)) {
        throw invalid('Stmt/ElctrncSeqNb', `"${sequence}" is not a sequence number`);
      }
      sequenceNo = Number(sequence);
    }
    return {
      format: 'camt053',
      formatVersion: this.version,
      accountNo,
      currency,
      messageId: this.messageId,
      statementRef: this.statementRef,
      sequenceNo,
      fromDate,
      toDate,
      openingFen: opening.fen,
      closingFen: closing.fen,
      openingLocation: `Stmt/Bal[${this.opening.code}]/Amt`,
      closingLocation: `Stmt/Bal[${this.closing.code}]/Amt`,
    };
  }

  /** The statement once the whole file is read. */
  result(): ParsedStatement {
    return {
      ...this.header(),
      summary: this.summary(),
      entryTotals: this.totals,
      lines: this.lines,
    };
  }

  private balanceValue(balance: BalanceState): { fen: number; date: string } {
    const where = balance.where;
    if (!balance.amount) throw malformed(`${where}/Amt`, 'is missing');
    const value = fen(balance.amount.text, `${where}/Amt`);
    this.checkCurrency(balance.amount, `${where}/Amt`);
    const sign = direction(balance.indicator, where) === 'credit' ? 1 : -1;
    let date: string;
    try {
      if (balance.date) date = parseIsoDate(balance.date);
      else if (balance.dateTime) date = parseIsoDateTime(balance.dateTime).date;
      else throw malformed(`${where}/Dt`, 'is missing');
    } catch (error) {
      if (error instanceof DateError) throw invalid(`${where}/Dt`, error.message);
      throw error;
    }
    return { fen: value === 0 ? 0 : sign * value, date };
  }

  private summary(): StatedSummary | null {
    const s = this.summaryText;
    if (Object.keys(s).length === 0) return null;
    const where = (path: string) => `Stmt/TxsSummry/${path}`;
    const amount = (path: string) =>
      s[path] === undefined ? undefined : fen(s[path], where(path));
    const number = (path: string) =>
      s[path] === undefined ? undefined : count(s[path], where(path));
    // 001.08: TtlNetNtry/Amt + TtlNetNtry/CdtDbtInd; 001.02: TtlNetNtryAmt + CdtDbtInd.
    const [netPath, indicatorPath] =
      s['TtlNtries/TtlNetNtry/Amt'] !== undefined
        ? ['TtlNtries/TtlNetNtry/Amt', 'TtlNtries/TtlNetNtry/CdtDbtInd']
        : ['TtlNtries/TtlNetNtryAmt', 'TtlNtries/CdtDbtInd'];
    const net = amount(netPath);
    return {
      entries: {
        count: number('TtlNtries/NbOfNtries'),
        sumFen: amount('TtlNtries/Sum'),
        netFen:
          net === undefined
            ? undefined
            : direction(s[indicatorPath] ?? null, where(netPath).replace(/\/[^/]*$/, '')) ===
                'credit'
              ? net
              : -net,
      },
      credits: { count: number('TtlCdtNtries/NbOfNtries'), sumFen: amount('TtlCdtNtries/Sum') },
      debits: { count: number('TtlDbtNtries/NbOfNtries'), sumFen: amount('TtlDbtNtries/Sum') },
    };
  }
}

interface LineBase {
  direction: Direction;
  bookingDate: string;
  bookedAt: string | null;
  valueDate: string | null;
  reversal: boolean;
  lineNo: number;
}

/** A line: the entry's booking, one transaction's references and parties. */
function line(
  base: LineBase,
  tx: TxState | undefined,
  bankRef: string,
  amountFen: number,
  location: string,
): StatementLine {
  const credit = base.direction === 'credit';
  // The other party: the debtor of a credit, the creditor of a debit.
  const account = credit ? tx?.debtorAccount : tx?.creditorAccount;
  const name = credit ? tx?.debtorName : tx?.creditorName;
  const endToEndId = tx?.endToEndId;
  return {
    lineNo: base.lineNo,
    location,
    bankRef,
    direction: base.direction,
    amountFen,
    bookingDate: base.bookingDate,
    bookedAt: base.bookedAt,
    valueDate: base.valueDate,
    endToEndId: endToEndId && endToEndId !== NOT_PROVIDED ? endToEndId : null,
    counterpartyAccount: account || null,
    counterpartyName: name || null,
    remittanceInfo: tx && tx.remittance.length ? tx.remittance.join(' ').slice(0, 500) : null,
    reversal: base.reversal,
  };
}

export class Camt053Parser implements StatementParser {
  readonly format = 'camt053' as const;

  accepts(mediaType: string): boolean {
    return mediaType === 'application/xml' || mediaType === 'text/xml';
  }

  async parse(body: Buffer, options: ParseOptions): Promise<ParsedStatement> {
    try {
      return await read(body, false, options.sink);
    } catch (error) {
      if (error instanceof SinkError) throw error.original;
      if (!(error instanceof StatementProblem)) throw error;
      // Refused: read again with line numbers (storing nothing), to name the place exactly.
      try {
        return await read(body, true, () => Promise.resolve());
      } catch (located) {
        throw located instanceof SinkError ? located.original : located;
      }
    }
  }
}

async function read(
  body: Buffer,
  positions: boolean,
  sink: LineSink | undefined,
): Promise<ParsedStatement> {
  const reader = new Camt053Reader(positions);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const header = () => reader.header();
  try {
    for (let offset = 0; offset < body.length; offset += CHUNK_BYTES) {
      const end = Math.min(offset + CHUNK_BYTES, body.length);
      let text: string;
      try {
        text = decoder.decode(body.subarray(offset, end), { stream: end < body.length });
      } catch {
        throw malformed(`byte ${offset}`, 'not valid UTF-8');
      }
      reader.parser.write(text);
      await flushLines(reader.lines, header, sink);
      if (end < body.length) await yieldToEventLoop();
    }
    reader.parser.close();
  } catch (error) {
    if (error instanceof StatementProblem || error instanceof SinkError) throw error;
    // saxes reports what it cannot parse by throwing; anything else is ours.
    if (error instanceof Error && /^\S*:\d+:\d+: /.test(error.message)) {
      throw malformed('xml', `not well-formed: ${error.message}`);
    }
    throw error;
  }
  const result = reader.result();
  await flushLines(reader.lines, header, sink, true);
  return result;
}
