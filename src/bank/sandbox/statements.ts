/**
 * Account statements as banks deliver them: ISO 20022 camt.053.001.08 XML, and the CSV export of a
 * Chinese online bank. Amounts are written from integer fen by integer arithmetic ("1234.05"),
 * dates and times in China time. A statement asked for twice reads the same apart from its
 * creation time and message id.
 */
import { randomBytes } from 'node:crypto';
import { formatYuan, sumFen } from '../../common/money/fen';
import { chinaDateTime } from './sandbox-bank.types';

export interface StatementMovement {
  bankTxnId: string;
  direction: 'debit' | 'credit';
  amountFen: number;
  balanceAfterFen: number;
  counterparty: { bankCode: string | null; accountNo: string | null; name: string | null };
  endToEndId: string | null;
  remittanceInfo: string | null;
  bookedAt: Date;
  valueDate: string;
}

export interface StatementData {
  account: { accountNo: string; bankCode: string; name: string };
  /** China dates, inclusive. */
  from: string;
  to: string;
  openingBalanceFen: number;
  closingBalanceFen: number;
  movements: StatementMovement[];
  createdAt: Date;
}

const DAY_MS = 86_400_000;

/** Deterministic electronic sequence number: the days since 1970-01-01 of the statement's last day. */
export function statementSequenceNumber(to: string): number {
  return Date.parse(`${to}T00:00:00Z`) / DAY_MS;
}

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const amount = (fen: number) => `<Amt Ccy="CNY">${formatYuan(fen)}</Amt>`;
const indicator = (credit: boolean) => `<CdtDbtInd>${credit ? 'CRDT' : 'DBIT'}</CdtDbtInd>`;
const account = (accountNo: string) => `<Id><Othr><Id>${xml(accountNo)}</Id></Othr></Id>`;
const compact = (date: string) => date.replace(/-/g, '');
/** Names are Max140Text in ISO 20022. */
const name = (text: string) => xml([...text].slice(0, 140).join(''));

/** Max35Text, unique per statement produced: creation time and random digits. */
function messageId(data: StatementData): string {
  const stamp = chinaDateTime(data.createdAt).slice(0, 19).replace(/\D/g, '');
  return `SBXSTMT${stamp}${randomBytes(4).toString('hex').toUpperCase()}`;
}

function balance(code: 'OPBD' | 'CLBD', fen: number, date: string): string {
  return [
    '<Bal>',
    `<Tp><CdOrPrtry><Cd>${code}</Cd></CdOrPrtry></Tp>`,
    amount(Math.abs(fen)),
    indicator(fen >= 0),
    `<Dt><Dt>${date}</Dt></Dt>`,
    '</Bal>',
  ].join('');
}

function party(role: 'Dbtr' | 'Cdtr', partyName: string | null, accountNo: string | null): string {
  const parts: string[] = [];
  if (partyName) parts.push(`<${role}><Pty><Nm>${name(partyName)}</Nm></Pty></${role}>`);
  if (accountNo) parts.push(`<${role}Acct>${account(accountNo)}</${role}Acct>`);
  return parts.join('');
}

function agent(role: 'DbtrAgt' | 'CdtrAgt', bankCode: string | null): string {
  return bankCode
    ? `<${role}><FinInstnId><Othr><Id>${xml(bankCode)}</Id></Othr></FinInstnId></${role}>`
    : '';
}

function entry(data: StatementData, movement: StatementMovement): string {
  const credit = movement.direction === 'credit';
  const own = { name: data.account.name, accountNo: data.account.accountNo };
  const other = movement.counterparty;
  const debtor = credit ? other : { ...own, bankCode: data.account.bankCode };
  const creditor = credit ? { ...own, bankCode: data.account.bankCode } : other;
  // Received credit transfer / issued credit transfer, domestic.
  const family = credit ? 'RCDT' : 'ICDT';
  const related =
    party('Dbtr', debtor.name, debtor.accountNo) + party('Cdtr', creditor.name, creditor.accountNo);
  const agents = agent('DbtrAgt', debtor.bankCode) + agent('CdtrAgt', creditor.bankCode);
  return [
    '<Ntry>',
    amount(movement.amountFen),
    indicator(credit),
    '<Sts><Cd>BOOK</Cd></Sts>',
    `<BookgDt><DtTm>${chinaDateTime(movement.bookedAt)}</DtTm></BookgDt>`,
    `<ValDt><Dt>${movement.valueDate}</Dt></ValDt>`,
    `<AcctSvcrRef>${xml(movement.bankTxnId)}</AcctSvcrRef>`,
    `<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>${family}</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>`,
    '<NtryDtls><TxDtls>',
    '<Refs>',
    `<AcctSvcrRef>${xml(movement.bankTxnId)}</AcctSvcrRef>`,
    `<EndToEndId>${xml(movement.endToEndId ?? 'NOTPROVIDED')}</EndToEndId>`,
    '</Refs>',
    amount(movement.amountFen),
    indicator(credit),
    related ? `<RltdPties>${related}</RltdPties>` : '',
    agents ? `<RltdAgts>${agents}</RltdAgts>` : '',
    movement.remittanceInfo
      ? `<RmtInf><Ustrd>${xml(movement.remittanceInfo)}</Ustrd></RmtInf>`
      : '',
    '</TxDtls></NtryDtls>',
    '</Ntry>',
  ].join('');
}

function totals(movements: StatementMovement[], direction?: 'debit' | 'credit') {
  const chosen = direction ? movements.filter((m) => m.direction === direction) : movements;
  return { count: chosen.length, sumFen: sumFen(chosen.map((m) => m.amountFen)) };
}

export function renderCamt053(data: StatementData): string {
  const { account: acct, from, to } = data;
  const all = totals(data.movements);
  const credits = totals(data.movements, 'credit');
  const debits = totals(data.movements, 'debit');
  const net = credits.sumFen - debits.sumFen;
  const created = chinaDateTime(data.createdAt);
  // Max35Text: both dates and (at most) the last 16 digits of the account.
  const statementId = `${compact(from)}-${compact(to)}-${acct.accountNo.slice(-16)}`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">',
    '<BkToCstmrStmt>',
    `<GrpHdr><MsgId>${messageId(data)}</MsgId><CreDtTm>${created}</CreDtTm></GrpHdr>`,
    '<Stmt>',
    `<Id>${xml(statementId)}</Id>`,
    `<ElctrncSeqNb>${statementSequenceNumber(to)}</ElctrncSeqNb>`,
    `<CreDtTm>${created}</CreDtTm>`,
    `<FrToDt><FrDtTm>${from}T00:00:00+08:00</FrDtTm><ToDtTm>${to}T23:59:59+08:00</ToDtTm></FrToDt>`,
    `<Acct>${account(acct.accountNo)}<Ccy>CNY</Ccy><Nm>${name(acct.name)}</Nm>` +
      `<Svcr><FinInstnId><Othr><Id>${xml(acct.bankCode)}</Id></Othr></FinInstnId></Svcr></Acct>`,
    balance('OPBD', data.openingBalanceFen, from),
    balance('CLBD', data.closingBalanceFen, to),
    '<TxsSummry>',
    `<TtlNtries><NbOfNtries>${all.count}</NbOfNtries><Sum>${formatYuan(all.sumFen)}</Sum>` +
      `<TtlNetNtry><Amt>${formatYuan(Math.abs(net))}</Amt>${indicator(net >= 0)}</TtlNetNtry></TtlNtries>`,
    `<TtlCdtNtries><NbOfNtries>${credits.count}</NbOfNtries><Sum>${formatYuan(credits.sumFen)}</Sum></TtlCdtNtries>`,
    `<TtlDbtNtries><NbOfNtries>${debits.count}</NbOfNtries><Sum>${formatYuan(debits.sumFen)}</Sum></TtlDbtNtries>`,
    '</TxsSummry>',
    ...data.movements.map((movement) => entry(data, movement)),
    '</Stmt>',
    '</BkToCstmrStmt>',
    '</Document>',
  ];
  return `${lines.join('\n')}\n`;
}

export const CSV_HEADER =
  '交易日期,交易时间,借方发生额,贷方发生额,余额,对方账号,对方户名,摘要,流水号,客户参考号';

function csvCell(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * One row per movement, as a Chinese online bank exports it: debit or credit amount in yuan (the
 * other cell empty), the running balance after the movement, CRLF line ends, no byte-order mark.
 */
export function renderCsv(data: StatementData): string {
  const rows = data.movements.map((movement) => {
    const booked = chinaDateTime(movement.bookedAt);
    const yuan = formatYuan(movement.amountFen);
    return [
      booked.slice(0, 10),
      booked.slice(11, 19),
      movement.direction === 'debit' ? yuan : '',
      movement.direction === 'credit' ? yuan : '',
      formatYuan(movement.balanceAfterFen),
      movement.counterparty.accountNo,
      movement.counterparty.name,
      movement.remittanceInfo,
      movement.bankTxnId,
      movement.endToEndId,
    ]
      .map(csvCell)
      .join(',');
  });
  return [CSV_HEADER, ...rows].join('\r\n') + '\r\n';
}
