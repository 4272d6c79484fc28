/**
 * The only writer of postings. Each method takes the caller's EntityManager, so that the ledger
 * movement commits or rolls back with the business change that needs it, and writes its whole
 * transaction in one SQL statement; resolveHoldsSql is that statement's SQL for a caller that
 * writes its change and the ledger in one statement. Postings are inserted in account-id order:
 * the posting trigger locks each account row as it applies a posting, so every transaction takes
 * its locks in one global order and concurrent transfers cannot deadlock.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { domainErrorFromDatabase } from '../common/errors/database-errors';
import { toFen } from '../common/money/fen';
import { Bind, binder } from '../database/binder';
import { queryPrepared } from '../database/query-prepared';
import {
  ACCOUNT_TYPES,
  AccountCode,
  INSTITUTION_ACCOUNT_CODES,
  TransactionKind,
} from './chart-of-accounts';
import { LedgerErrorCode, ledgerError } from './ledger.errors';

export interface Transfer {
  debitAccountId: string;
  creditAccountId: string;
  amountFen: number;
}

export interface TransferCommand {
  kind: TransactionKind;
  /** Unique business reference (`lesson:<id>:hold`): recording the same movement twice fails. */
  reference: string;
  institutionId: string;
  transfers: Transfer[];
  effectiveAt?: Date;
  metadata?: Record<string, unknown>;
  manual?: boolean;
}

export interface ResolveCommand {
  pendingId: string;
  kind: TransactionKind;
  reference: string;
  metadata?: Record<string, unknown>;
}

export interface ReverseCommand {
  transactionId: string;
  reference: string;
  metadata?: Record<string, unknown>;
  manual?: boolean;
}

export interface AccountBalance {
  accountId: string;
  code: AccountCode;
  institutionId: string;
  orderId: string | null;
  /** Posted balance on the account's normal side (debit for assets, credit for liabilities). */
  postedFen: number;
  pendingDebitsFen: number;
  pendingCreditsFen: number;
  /** Posted balance less pending outflows. */
  availableFen: number;
}

interface AccountRow {
  id: string;
  code: AccountCode;
  type: 'asset' | 'liability';
  institution_id: string;
  order_id: string | null;
  posted_debits: string;
  posted_credits: string;
  pending_debits: string;
  pending_credits: string;
}

type Phase = 'posted' | 'pending';

export function balanceOf(row: AccountRow): AccountBalance {
  const postedDebits = toFen(row.posted_debits);
  const postedCredits = toFen(row.posted_credits);
  const pendingDebits = toFen(row.pending_debits);
  const pendingCredits = toFen(row.pending_credits);
  const asset = row.type === 'asset';
  const posted = asset ? postedDebits - postedCredits : postedCredits - postedDebits;
  return {
    accountId: row.id,
    code: row.code,
    institutionId: row.institution_id,
    orderId: row.order_id,
    postedFen: posted,
    pendingDebitsFen: pendingDebits,
    pendingCreditsFen: pendingCredits,
    availableFen: posted - (asset ? pendingCredits : pendingDebits),
  };
}

/**
 * The ledger's part of a statement that resolves holds: the CTEs `request`, `tx` and `postings`,
 * their values bound with `bind`, one ledger transaction per command whose hold is still pending
 * (see resolveRequestedHoldsSql).
 */
export function resolveHoldsSql(
  bind: Bind,
  commands: ResolveCommand[],
  resolution: 'post' | 'void',
): string {
  return `request AS (
    SELECT *, NULL::uuid AS id FROM unnest(${bind(commands.map((command) => command.pendingId))}::uuid[],
                         ${bind(commands.map((command) => command.kind))}::text[],
                         ${bind(commands.map((command) => command.reference))}::text[],
                         ${bind(commands.map((command) => JSON.stringify(command.metadata ?? {})))}::jsonb[])
      WITH ORDINALITY AS r(pending_id, kind, reference, metadata, n)),
  ${resolveRequestedHoldsSql(bind, resolution)}`;
}

/**
 * The ledger's part of a statement that resolves the holds its CTE `request` asks for (columns
 * pending_id, kind, reference, metadata, id (the new transaction's, or null to draw one) and n,
 * the order to write them in): the CTEs `tx` and `postings`. One ledger transaction per request
 * whose hold is still pending: it cancels the hold ('resolved') and, when posting, moves its
 * money ('posted'). `tx` returns (id, pending_id) of each. The postings go in in account order
 * (the posting trigger locks accounts as it goes), and on each account a hold's cancellation
 * precedes its move, so that no intermediate state counts an amount twice.
 */
export function resolveRequestedHoldsSql(bind: Bind, resolution: 'post' | 'void'): string {
  const phase = bind(resolution);
  return `tx AS (
    INSERT INTO ledger_transactions (id, kind, reference, institution_id, pending_id, resolution, metadata)
    SELECT coalesce(r.id, gen_random_uuid()), r.kind, r.reference, t.institution_id, t.id, ${phase}, r.metadata
    FROM request r JOIN ledger_transactions t ON t.id = r.pending_id
    WHERE EXISTS (SELECT 1 FROM ledger_postings p WHERE p.transaction_id = t.id AND p.phase = 'pending')
    ORDER BY r.n
    RETURNING id, pending_id),
  postings AS (
    INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
    SELECT tx.id, p.account_id, leg.phase, leg.amount
    FROM tx
    JOIN ledger_postings p ON p.transaction_id = tx.pending_id AND p.phase = 'pending'
    CROSS JOIN LATERAL (VALUES (1, 'resolved', -p.amount), (2, 'posted', p.amount))
      AS leg(step, phase, amount)
    WHERE leg.step = 1 OR ${phase} = 'post'
    ORDER BY p.account_id, tx.id, p.id, leg.step)`;
}

/**
 * The ids of the transactions that resolved `commands`' holds, in their order (from `tx`'s
 * rows); a hold that was not pending is an error.
 */
export function resolvedIds(
  commands: Pick<ResolveCommand, 'pendingId'>[],
  rows: { id: string | null; pending_id: string | null }[],
): string[] {
  const ids = new Map(rows.map((row) => [row.pending_id, row.id]));
  return commands.map((command) => {
    const id = ids.get(command.pendingId);
    if (!id) {
      throw ledgerError(
        LedgerErrorCode.PENDING_TRANSFER_NOT_FOUND,
        `no pending transfer ${command.pendingId}`,
      );
    }
    return id;
  });
}

/**
 * Rethrows database errors the ledger can name (insufficient funds, duplicates, a hold resolved
 * twice) as domain errors.
 */
export async function named<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw domainErrorFromDatabase(error) ?? error;
  }
}

@Injectable()
export class LedgerService {
  /** Opens (or finds) one account. Safe to call concurrently. */
  async openAccount(
    manager: EntityManager,
    owner: { code: AccountCode; institutionId: string; orderId?: string },
  ): Promise<string> {
    const orderId = owner.orderId ?? null;
    const created: { id: string }[] = await manager.query(
      `INSERT INTO ledger_accounts (code, type, institution_id, order_id)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id`,
      [owner.code, ACCOUNT_TYPES[owner.code], owner.institutionId, orderId],
    );
    if (created.length) return created[0].id;
    // Opened by someone else: a new statement sees their committed row.
    const found: { id: string }[] = await manager.query(
      `SELECT id FROM ledger_accounts
       WHERE code = $1 AND institution_id = $2 AND order_id IS NOT DISTINCT FROM $3`,
      [owner.code, owner.institutionId, orderId],
    );
    return found[0].id;
  }

  /** Opens every institution-level account of the chart; returns their ids by code. */
  async openInstitutionAccounts(
    manager: EntityManager,
    institutionId: string,
  ): Promise<Record<AccountCode, string>> {
    const ids = {} as Record<AccountCode, string>;
    for (const code of INSTITUTION_ACCOUNT_CODES) {
      ids[code] = await this.openAccount(manager, { code, institutionId });
    }
    return ids;
  }

  /** The institution-level accounts (opened at registration), by code. */
  async institutionAccounts(
    manager: EntityManager,
    institutionId: string,
  ): Promise<Record<AccountCode, string>> {
    const rows: { code: AccountCode; id: string }[] = await manager.query(
      'SELECT code, id FROM ledger_accounts WHERE institution_id = $1 AND order_id IS NULL',
      [institutionId],
    );
    const ids = Object.fromEntries(rows.map((row) => [row.code, row.id])) as Record<
      AccountCode,
      string
    >;
    const missing = INSTITUTION_ACCOUNT_CODES.filter((code) => !ids[code]);
    if (missing.length) {
      // Registration opens them all in its transaction: a gap means the books are not as built.
      throw new Error(`institution ${institutionId} lacks ledger accounts ${missing.join(', ')}`);
    }
    return ids;
  }

  /** Records posted transfers as one balanced transaction; returns its id. */
  post(manager: EntityManager, command: TransferCommand): Promise<string> {
    return this.write(manager, command, 'posted');
  }

  /**
   * Creates a pending transfer (a hold): the amount counts in the accounts' pending balances and
   * is not available to spend until postPending or voidPending resolves it. Returns its id.
   */
  hold(manager: EntityManager, command: TransferCommand): Promise<string> {
    return this.write(manager, command, 'pending');
  }

  /** Moves a held amount for good. At most one of postPending/voidPending succeeds per hold. */
  async postPending(manager: EntityManager, command: ResolveCommand): Promise<string> {
    const [id] = await this.resolve(manager, [command], 'post');
    return id;
  }

  /** Releases a hold without moving money. */
  async voidPending(manager: EntityManager, command: ResolveCommand): Promise<string> {
    const [id] = await this.resolve(manager, [command], 'void');
    return id;
  }

  /** Records the exact opposite of a posted transaction, referencing it; at most once. */
  async reverse(manager: EntityManager, command: ReverseCommand): Promise<string> {
    const rows: { transaction_id: string }[] = await named(
      manager.query(
        `WITH tx AS (
           INSERT INTO ledger_transactions (kind, reference, institution_id, reversal_of, metadata, manual)
           SELECT 'reversal', $2, t.institution_id, t.id, $3, $4
           FROM ledger_transactions t WHERE t.id = $1
           RETURNING id, reversal_of)
         INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
         SELECT tx.id, p.account_id, 'posted', -p.amount
         FROM tx JOIN ledger_postings p ON p.transaction_id = tx.reversal_of AND p.phase = 'posted'
         ORDER BY p.account_id, p.id
         RETURNING transaction_id`,
        [command.transactionId, command.reference, command.metadata ?? {}, command.manual ?? false],
      ),
    );
    if (rows.length === 0) {
      throw ledgerError(LedgerErrorCode.INVALID_TRANSFER, 'nothing posted to reverse');
    }
    return rows[0].transaction_id;
  }

  async balances(manager: EntityManager, accountIds: string[]): Promise<AccountBalance[]> {
    const rows: AccountRow[] = await manager.query(
      `SELECT id, code, type, institution_id, order_id,
              posted_debits, posted_credits, pending_debits, pending_credits
       FROM ledger_accounts WHERE id = ANY($1::uuid[]) ORDER BY id`,
      [accountIds],
    );
    return rows.map(balanceOf);
  }

  async balance(manager: EntityManager, accountId: string): Promise<AccountBalance> {
    const [balance] = await this.balances(manager, [accountId]);
    if (!balance) throw ledgerError(LedgerErrorCode.INVALID_TRANSFER, 'no such account');
    return balance;
  }

  private async write(manager: EntityManager, command: TransferCommand, phase: Phase) {
    if (command.transfers.length === 0) {
      throw ledgerError(LedgerErrorCode.INVALID_TRANSFER, 'a transaction needs a transfer');
    }
    const legs: { accountId: string; amount: number }[] = [];
    for (const transfer of command.transfers) {
      const amount = transfer.amountFen;
      if (!Number.isSafeInteger(amount) || amount <= 0) {
        throw ledgerError(
          LedgerErrorCode.INVALID_TRANSFER,
          `amount must be whole fen > 0: ${amount}`,
        );
      }
      if (transfer.debitAccountId === transfer.creditAccountId) {
        throw ledgerError(
          LedgerErrorCode.INVALID_TRANSFER,
          'debit and credit accounts must differ',
        );
      }
      legs.push({ accountId: transfer.debitAccountId, amount });
      legs.push({ accountId: transfer.creditAccountId, amount: -amount });
    }
    legs.sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
    const rows: { transaction_id: string }[] = await named(
      manager.query(
        `WITH tx AS (
           INSERT INTO ledger_transactions (kind, reference, institution_id, metadata, manual, effective_at)
           VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()))
           RETURNING id)
         INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
         SELECT tx.id, leg.account_id, $7, leg.amount
         FROM tx, unnest($8::uuid[], $9::bigint[]) WITH ORDINALITY AS leg(account_id, amount, n)
         ORDER BY leg.n
         RETURNING transaction_id`,
        [
          command.kind,
          command.reference,
          command.institutionId,
          command.metadata ?? {},
          command.manual ?? false,
          command.effectiveAt ?? null,
          phase,
          legs.map((leg) => leg.accountId),
          legs.map((leg) => String(leg.amount)),
        ],
      ),
    );
    return rows[0].transaction_id;
  }

  private async resolve(
    manager: EntityManager,
    commands: ResolveCommand[],
    resolution: 'post' | 'void',
  ): Promise<string[]> {
    if (commands.length === 0) return [];
    const params: unknown[] = [];
    const text = `WITH ${resolveHoldsSql(binder(params), commands, resolution)}
      SELECT id, pending_id FROM tx`;
    const rows: { id: string; pending_id: string }[] = await named(
      queryPrepared(manager, 'ledger.resolve', text, params),
    );
    return resolvedIds(commands, rows);
  }
}
