/**
 * Statements built for a test (camt.053.001.08 and the bank CSV) from a list of entries, and the
 * ledger movements they are matched against, made through the real notification and settlement
 * paths.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { signBankPayload } from '../../src/bank/bank-signature';
import { formatYuan } from '../../src/common/money/fen';
import { Order } from '../../src/orders/entities/order.entity';
import { chinaDate } from '../../src/common/time/china-date';
import { AppConfig } from '../../src/config/config';
import { TestApp } from '../support/app';
import { paymentNotification, sendBankNotification } from '../support/bank';
import {
  InstitutionFixture,
  createCourse,
  createInstitution,
  createOrder,
  createReleasedLesson,
  tokens,
} from '../support/factories';
import { eventually } from '../support/waiting';

export interface Entry {
  ref: string;
  direction: 'credit' | 'debit';
  amountFen: number;
  endToEndId?: string | null;
  counterpartyAccount?: string | null;
  counterpartyName?: string | null;
  /** China date; default the statement's last day. */
  bookingDate?: string;
  reversal?: boolean;
  remittance?: string;
}

export interface StatementSpec {
  accountNo: string;
  from: string;
  to?: string;
  openingFen: number;
  entries: Entry[];
  sequenceNo?: number;
  /** Override the closing balance (a broken statement). */
  closingFen?: number;
}

const token = () => randomBytes(5).toString('hex').toUpperCase();
export const bankRef = () => `BK${token()}`;
export const today = () => chinaDate();
export const daysAgo = (n: number) => chinaDate(new Date(Date.now() - n * 86_400_000));

function net(entries: Entry[]): number {
  return entries.reduce(
    (sum, e) => sum + (e.direction === 'credit' ? e.amountFen : -e.amountFen),
    0,
  );
}

const esc = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const amt = (fen: number) => `<Amt Ccy="CNY">${formatYuan(fen)}</Amt>`;
const ind = (credit: boolean) => `<CdtDbtInd>${credit ? 'CRDT' : 'DBIT'}</CdtDbtInd>`;

/** A camt.053.001.08 statement of the entries, with balances and TxsSummry that add up. */
export function camt053(spec: StatementSpec): string {
  const to = spec.to ?? spec.from;
  const closing = spec.closingFen ?? spec.openingFen + net(spec.entries);
  const credits = spec.entries.filter((e) => e.direction === 'credit');
  const debits = spec.entries.filter((e) => e.direction === 'debit');
  const sum = (list: Entry[]) => list.reduce((s, e) => s + e.amountFen, 0);
  const balance = (code: string, fen: number, date: string) =>
    `<Bal><Tp><CdOrPrtry><Cd>${code}</Cd></CdOrPrtry></Tp>${amt(Math.abs(fen))}${ind(fen >= 0)}<Dt><Dt>${date}</Dt></Dt></Bal>`;
  const entries = spec.entries.map((e) => {
    const credit = e.direction === 'credit';
    const party = credit ? 'Dbtr' : 'Cdtr';
    const parties =
      (e.counterpartyName
        ? `<${party}><Pty><Nm>${esc(e.counterpartyName)}</Nm></Pty></${party}>`
        : '') +
      (e.counterpartyAccount
        ? `<${party}Acct><Id><Othr><Id>${e.counterpartyAccount}</Id></Othr></Id></${party}Acct>`
        : '');
    return [
      '<Ntry>',
      amt(e.amountFen),
      ind(credit),
      e.reversal ? '<RvslInd>true</RvslInd>' : '',
      '<Sts><Cd>BOOK</Cd></Sts>',
      `<BookgDt><DtTm>${e.bookingDate ?? to}T10:00:00+08:00</DtTm></BookgDt>`,
      `<ValDt><Dt>${e.bookingDate ?? to}</Dt></ValDt>`,
      `<AcctSvcrRef>${esc(e.ref)}</AcctSvcrRef>`,
      '<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>',
      '<NtryDtls><TxDtls>',
      `<Refs><AcctSvcrRef>${esc(e.ref)}</AcctSvcrRef><EndToEndId>${esc(e.endToEndId ?? 'NOTPROVIDED')}</EndToEndId></Refs>`,
      amt(e.amountFen),
      ind(credit),
      parties ? `<RltdPties>${parties}</RltdPties>` : '',
      e.remittance ? `<RmtInf><Ustrd>${esc(e.remittance)}</Ustrd></RmtInf>` : '',
      '</TxDtls></NtryDtls>',
      '</Ntry>',
    ].join('');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>',
    `<GrpHdr><MsgId>TEST${token()}</MsgId><CreDtTm>${to}T23:59:59+08:00</CreDtTm></GrpHdr>`,
    '<Stmt>',
    `<Id>${spec.from}-${to}</Id>`,
    spec.sequenceNo === undefined ? '' : `<ElctrncSeqNb>${spec.sequenceNo}</ElctrncSeqNb>`,
    `<FrToDt><FrDtTm>${spec.from}T00:00:00+08:00</FrDtTm><ToDtTm>${to}T23:59:59+08:00</ToDtTm></FrToDt>`,
    `<Acct><Id><Othr><Id>${spec.accountNo}</Id></Othr></Id><Ccy>CNY</Ccy></Acct>`,
    balance('OPBD', spec.openingFen, spec.from),
    balance('CLBD', closing, to),
    '<TxsSummry>',
    `<TtlNtries><NbOfNtries>${spec.entries.length}</NbOfNtries><Sum>${formatYuan(sum(spec.entries))}</Sum></TtlNtries>`,
    `<TtlCdtNtries><NbOfNtries>${credits.length}</NbOfNtries><Sum>${formatYuan(sum(credits))}</Sum></TtlCdtNtries>`,
    `<TtlDbtNtries><NbOfNtries>${debits.length}</NbOfNtries><Sum>${formatYuan(sum(debits))}</Sum></TtlDbtNtries>`,
    '</TxsSummry>',
    ...entries,
    '</Stmt></BkToCstmrStmt></Document>',
    '',
  ].join('\n');
}

/** The same entries as a bank CSV export (oldest first, running balances). */
export function bankCsv(spec: StatementSpec): string {
  const to = spec.to ?? spec.from;
  let balance = spec.openingFen;
  const cell = (text: string | null | undefined) =>
    text === null || text === undefined
      ? ''
      : /[",\r\n]/.test(text)
        ? `"${text.replace(/"/g, '""')}"`
        : text;
  const rows = spec.entries.map((e) => {
    balance += e.direction === 'credit' ? e.amountFen : -e.amountFen;
    return [
      e.bookingDate ?? to,
      '10:00:00',
      e.direction === 'debit' ? formatYuan(e.amountFen) : '',
      e.direction === 'credit' ? formatYuan(e.amountFen) : '',
      formatYuan(balance),
      e.counterpartyAccount,
      e.counterpartyName,
      e.reversal ? `冲正 ${e.remittance ?? ''}` : e.remittance,
      e.ref,
      e.endToEndId,
    ]
      .map(cell)
      .join(',');
  });
  return (
    [
      '交易日期,交易时间,借方发生额,贷方发生额,余额,对方账号,对方户名,摘要,流水号,客户参考号',
      ...rows,
    ].join('\r\n') + '\r\n'
  );
}

export type Http = TestApp['http'];

/** An operator uploads a statement file. */
export function uploadAsOperator(
  http: Http,
  config: AppConfig,
  districtId: string,
  body: string | Buffer,
  options: { type?: string; query?: string; sub?: string } = {},
) {
  return request(http)
    .post(`/v1/reconciliation/statements${options.query ?? ''}`)
    .set('Authorization', tokens(config).operator(districtId, options.sub ?? 'op-1'))
    .set('Content-Type', options.type ?? 'application/xml')
    .send(body);
}

/** The bank delivers a statement file, signed as its notifications are. */
export function uploadAsBank(
  http: Http,
  config: AppConfig,
  body: string | Buffer,
  options: { type?: string; query?: string; secret?: string } = {},
) {
  const timestamp = Math.floor(Date.now() / 1000);
  return request(http)
    .post(`/v1/reconciliation/statements${options.query ?? ''}`)
    .set('Content-Type', options.type ?? 'application/xml')
    .set('X-Bank-Timestamp', String(timestamp))
    .set(
      'X-Bank-Signature',
      signBankPayload(options.secret ?? config.bankWebhookSecret, timestamp, body),
    )
    .send(body);
}

export interface Movements {
  school: InstitutionFixture;
  payments: { bankTxnId: string; amountFen: number; reference: string; payerAccount: string }[];
  settlement?: { instructionId: string; amountFen: number; bankTxnId: string; toAccount: string };
}

/**
 * An institution whose custody account received `payments` parents' payments (through signed
 * bank notifications) and, with `settle`, paid one settlement batch of released lessons (through
 * the outbox and the test's bank).
 */
export async function schoolWithMovements(
  t: TestApp,
  dataSource: DataSource,
  options: { payments?: number; settle?: number } = {},
): Promise<Movements> {
  const school = await createInstitution(dataSource);
  const course = await createCourse(dataSource, school.institution.id);
  const payments: Movements['payments'] = [];
  const orders: Order[] = [];
  for (let i = 0; i < (options.payments ?? 2); i++) {
    const order = await createOrder(dataSource, { institution: school.institution, course });
    const payerAccount = `6214${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
    const notification = paymentNotification(
      school.custodyAccountNo,
      order.paymentReference,
      order.amountFen,
      { payerAccount: { bankCode: 'CMB', accountNo: payerAccount, accountName: '王芳' } },
    );
    const response = await sendBankNotification(t.http, t.config, notification).expect(200);
    expect(response.body.outcome).toBe('matched');
    payments.push({
      bankTxnId: notification.bankTxnId,
      amountFen: order.amountFen,
      reference: order.paymentReference,
      payerAccount,
    });
    orders.push(await dataSource.manager.findOneByOrFail(Order, { id: order.id }));
  }
  let settlement: Movements['settlement'];
  if (options.settle && orders.length) {
    for (let sequence = 1; sequence <= options.settle; sequence++) {
      await createReleasedLesson(dataSource, school, orders[0], sequence);
    }
    const run = await request(t.http)
      .post('/v1/settlements/run')
      .set('Authorization', tokens(t.config).operator(school.institution.districtId))
      .expect(202);
    const batch = (
      run.body.batches as { id: string; institutionId: string; instructionId: string }[]
    ).find((b) => b.institutionId === school.institution.id)!;
    const instruction = await eventually(async () => {
      const [row] = await dataSource.query(
        `SELECT id, amount_fen, bank_txn_id, to_account_no, status FROM bank_instructions WHERE id = $1`,
        [batch.instructionId],
      );
      return row?.status === 'succeeded' ? row : undefined;
    });
    settlement = {
      instructionId: instruction.id,
      amountFen: Number(instruction.amount_fen),
      bankTxnId: instruction.bank_txn_id,
      toAccount: instruction.to_account_no,
    };
  }
  return { school, payments, settlement };
}

/** The bank's lines for the movements, as a statement of today would list them. */
export function linesOf(movements: Movements): Entry[] {
  const entries: Entry[] = movements.payments.map((p) => ({
    ref: p.bankTxnId,
    direction: 'credit',
    amountFen: p.amountFen,
    endToEndId: p.reference,
    counterpartyAccount: p.payerAccount,
    counterpartyName: '王芳',
    remittance: '学费',
  }));
  if (movements.settlement) {
    entries.push({
      ref: movements.settlement.bankTxnId,
      direction: 'debit',
      amountFen: movements.settlement.amountFen,
      endToEndId: movements.settlement.instructionId,
      counterpartyAccount: movements.settlement.toAccount,
      remittance: '结算 settlement',
    });
  }
  return entries;
}
