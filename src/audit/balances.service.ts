/**
 * Balances of an institution's ledger accounts at any instant. Every posting row carries its
 * account's running totals after it, so the balance at an instant is the latest posting recorded
 * at or before it: one probe of ix_ledger_postings_account_recorded per account (two when the
 * newest timestamp is shared, to take the highest account version), whatever the journal's length.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import { sumFen, toFen } from '../common/money/fen';
import { cursorTimeSql } from '../common/pagination/cursor';
import type { InstitutionStatus } from '../institutions/entities/institution.entity';
import {
  ACCOUNT_CODES,
  ACCOUNT_TYPES,
  AccountCode,
  AccountType,
} from '../ledger/chart-of-accounts';
import { balanceOf } from '../ledger/ledger.service';
import { AuditErrorCode, auditError } from './audit.errors';
import { assertNotFuture, districtOf, safeInteger } from './audit-scope';

export interface BalanceFigures {
  postedDebitsFen: number;
  postedCreditsFen: number;
  pendingDebitsFen: number;
  pendingCreditsFen: number;
  /** On the account's normal side: debit for custody_cash, credit for the liabilities. */
  postedFen: number;
  /** Posted less pending outflows. */
  availableFen: number;
}

export interface AccountLine extends BalanceFigures {
  code: AccountCode;
  type: AccountType;
  /** The account, when the line is one account; null for the order_escrow aggregate. */
  accountId: string | null;
  accountCount: number;
  lastPostingAt: string | null;
}

export interface OrderEscrowLine extends BalanceFigures {
  orderId: string;
  accountId: string;
  accountVersion: number;
  lastPostingAt: string | null;
}

export interface InstitutionBalances {
  institutionId: string;
  name: string;
  status: InstitutionStatus;
  at: string;
  accounts: AccountLine[];
  orderEscrows?: OrderEscrowLine[];
}

export interface BalancesQuery {
  at?: string;
  orders?: boolean;
}

interface Row {
  institution_id: string;
  name: string;
  status: InstitutionStatus;
  at: string;
  account_id: string | null;
  code: AccountCode | null;
  type: AccountType | null;
  order_id: string | null;
  account_version: string | null;
  posted_debits: string | null;
  posted_credits: string | null;
  pending_debits: string | null;
  pending_credits: string | null;
  last_posting_at: string | null;
}

/**
 * $1 institution, $2 district, $3 the instant (null: now). Accounts opened after the instant are
 * left out; an account without postings by then stands at zero.
 */
export const BALANCES_AT_SQL = `
  WITH inst AS (
    SELECT id, name, status, coalesce($3::timestamptz, now()) AS at
    FROM institutions WHERE id = $1 AND district_id = $2)
  SELECT inst.id AS institution_id, inst.name, inst.status, ${cursorTimeSql('inst.at')} AS at,
         a.id AS account_id, a.code, a.type, a.order_id,
         b.account_version::text AS account_version,
         b.posted_debits_after::text AS posted_debits, b.posted_credits_after::text AS posted_credits,
         b.pending_debits_after::text AS pending_debits,
         b.pending_credits_after::text AS pending_credits,
         ${cursorTimeSql('b.recorded_at')} AS last_posting_at
  FROM inst
  LEFT JOIN ledger_accounts a ON a.institution_id = inst.id AND a.created_at <= inst.at
  LEFT JOIN LATERAL (
    SELECT p.account_version, p.posted_debits_after, p.posted_credits_after,
           p.pending_debits_after, p.pending_credits_after, p.recorded_at
    FROM ledger_postings p
    WHERE p.account_id = a.id
      AND p.recorded_at = (
        SELECT max(q.recorded_at) FROM ledger_postings q
        WHERE q.account_id = a.id AND q.recorded_at <= inst.at)
    ORDER BY p.account_version DESC
    LIMIT 1) b ON true`;

/** The ledger's own reading of totals (normal side, available), on summed or single totals. */
function figures(
  code: AccountCode,
  totals: { pd: number; pc: number; qd: number; qc: number },
): BalanceFigures {
  const balance = balanceOf({
    id: '',
    code,
    type: ACCOUNT_TYPES[code],
    institution_id: '',
    order_id: null,
    posted_debits: String(totals.pd),
    posted_credits: String(totals.pc),
    pending_debits: String(totals.qd),
    pending_credits: String(totals.qc),
  });
  return {
    postedDebitsFen: totals.pd,
    postedCreditsFen: totals.pc,
    pendingDebitsFen: totals.qd,
    pendingCreditsFen: totals.qc,
    postedFen: balance.postedFen,
    availableFen: balance.availableFen,
  };
}

const totalsOf = (row: Row) => ({
  pd: toFen(row.posted_debits ?? 0),
  pc: toFen(row.posted_credits ?? 0),
  qd: toFen(row.pending_debits ?? 0),
  qc: toFen(row.pending_credits ?? 0),
});

const latest = (a: string | null, b: string | null) =>
  a === null || (b !== null && b > a) ? b : a;

@Injectable()
export class BalancesService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async getInstitutionBalances(
    principal: Principal,
    institutionId: string,
    query: BalancesQuery,
  ): Promise<InstitutionBalances> {
    assertNotFuture('at', query.at);
    const rows: Row[] = await this.dataSource.query(BALANCES_AT_SQL, [
      institutionId,
      districtOf(principal),
      query.at ?? null,
    ]);
    if (rows.length === 0) {
      throw auditError(AuditErrorCode.INSTITUTION_NOT_FOUND, 'No institution with this id.');
    }
    const accounts = rows.filter((row) => row.account_id !== null);
    const lines = ACCOUNT_CODES.map((code): AccountLine => {
      const mine = accounts.filter((row) => row.code === code);
      const sum = (pick: (t: ReturnType<typeof totalsOf>) => number) =>
        sumFen(mine.map((row) => pick(totalsOf(row))));
      return {
        code,
        type: ACCOUNT_TYPES[code],
        accountId: code !== 'order_escrow' && mine.length === 1 ? mine[0].account_id : null,
        accountCount: mine.length,
        ...figures(code, {
          pd: sum((t) => t.pd),
          pc: sum((t) => t.pc),
          qd: sum((t) => t.qd),
          qc: sum((t) => t.qc),
        }),
        lastPostingAt: mine.reduce<string | null>(
          (at, row) => latest(at, row.last_posting_at),
          null,
        ),
      };
    });
    const [first] = rows;
    return {
      institutionId: first.institution_id,
      name: first.name,
      status: first.status,
      at: first.at,
      accounts: lines,
      ...(query.orders
        ? {
            orderEscrows: accounts
              .filter((row) => row.code === 'order_escrow' && row.order_id !== null)
              .sort((a, b) => ((a.order_id ?? '') < (b.order_id ?? '') ? -1 : 1))
              .map((row) => ({
                orderId: row.order_id as string,
                accountId: row.account_id as string,
                accountVersion: safeInteger(row.account_version ?? 0),
                ...figures('order_escrow', totalsOf(row)),
                lastPostingAt: row.last_posting_at,
              })),
          }
        : {}),
    };
  }
}
