/**
 * The sandbox bank's books: accounts with real balances, append-only movements, transfer
 * instructions executed once per instruction id. Every money movement and the notification that
 * reports it commit in one transaction; accounts are locked in account-number order.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { toFen } from '../../common/money/fen';
import { chinaDate } from '../../common/time/china-date';
import type { BankAccountRef, TransferInstruction, TransferResult } from '../bank-gateway';
import { FaultStore, GLOBAL_SCOPE } from './faults';
import { SandboxProblem } from './http-problems';
import { NotificationBody, NotificationOutbox } from './notification-outbox';
import { chinaDateTime, chinaDayStart } from './sandbox-bank.types';
import type { StatementData, StatementMovement } from './statements';

/** What a payer account the sandbox has never seen starts with: 10 billion yuan. */
export const PAYER_OPENING_BALANCE_FEN = 1_000_000_000_000;
export const REJECTED_REASON = 'beneficiary account closed';
export const INSUFFICIENT_FUNDS_REASON = 'insufficient funds';
export const UNKNOWN_DEBTOR_REASON = 'debtor account not found';

export interface PaymentCommand {
  payerAccount: BankAccountRef;
  /** The custody account credited. */
  accountNo: string;
  amountFen: number;
  reference: string;
  remittanceInfo?: string;
}

export interface AccountView {
  accountNo: string;
  bankCode: string;
  accountName: string;
  kind: 'customer' | 'payer';
  balanceFen: number;
  movements: Array<Omit<StatementMovement, 'bookedAt'> & { bookedAt: string }>;
}

export interface NotificationView {
  eventId: string;
  type: string;
  accountNo: string;
  status: 'pending' | 'delivered' | 'rejected';
  /** 2 when a `duplicateNotifications` fault applied. */
  copies: number;
  deliveredCount: number;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
  body: NotificationBody;
}

interface NotificationRow {
  event_id: string;
  type: string;
  account_no: string;
  body: string;
  copies: number;
  delivered_count: number;
  status: NotificationView['status'];
  attempts: number;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

interface AccountRow {
  account_no: string;
  bank_code: string;
  name: string;
  kind: 'customer' | 'payer';
  balance_fen: string;
}

interface MovementRow {
  bank_txn_id: string;
  direction: 'debit' | 'credit';
  amount_fen: string;
  balance_after_fen: string;
  counterparty_bank_code: string | null;
  counterparty_account_no: string | null;
  counterparty_name: string | null;
  end_to_end_id: string | null;
  remittance_info: string | null;
  booked_at: Date;
  value_date: string;
}

interface TransferRow {
  instruction_id: string;
  from_account_no: string;
  to_bank_code: string;
  to_account_no: string;
  to_account_name: string;
  amount_fen: string;
  purpose: string;
  state: TransferResult['state'];
  bank_txn_id: string | null;
  reason: string | null;
}

interface Party {
  accountNo: string;
  bankCode: string;
  name: string;
}

const MOVEMENT_COLUMNS = `bank_txn_id, direction, amount_fen, balance_after_fen,
  counterparty_bank_code, counterparty_account_no, counterparty_name, end_to_end_id,
  remittance_info, booked_at, value_date::text AS value_date`;

function toMovement(row: MovementRow): StatementMovement {
  return {
    bankTxnId: row.bank_txn_id,
    direction: row.direction,
    amountFen: toFen(row.amount_fen),
    balanceAfterFen: toFen(row.balance_after_fen),
    counterparty: {
      bankCode: row.counterparty_bank_code,
      accountNo: row.counterparty_account_no,
      name: row.counterparty_name,
    },
    endToEndId: row.end_to_end_id,
    remittanceInfo: row.remittance_info,
    bookedAt: row.booked_at,
    valueDate: row.value_date,
  };
}

function toResult(row: TransferRow): TransferResult {
  return {
    instructionId: row.instruction_id,
    state: row.state,
    ...(row.bank_txn_id === null ? {} : { bankTxnId: row.bank_txn_id }),
    ...(row.reason === null ? {} : { reason: row.reason }),
  };
}

function sameInstruction(row: TransferRow, instruction: TransferInstruction): boolean {
  return (
    row.from_account_no === instruction.fromAccountNo &&
    row.to_bank_code === instruction.to.bankCode &&
    row.to_account_no === instruction.to.accountNo &&
    row.to_account_name === instruction.to.accountName &&
    toFen(row.amount_fen) === instruction.amountFen &&
    row.purpose === instruction.purpose
  );
}

export class SandboxBook {
  constructor(
    private readonly pool: Pool,
    private readonly faults: FaultStore,
    private readonly outbox: NotificationOutbox,
    private readonly bankCode: string,
  ) {}

  /** A parent pays into a custody account; the service is told with `payment_received`. */
  async pay(command: PaymentCommand): Promise<{ bankTxnId: string; eventId: string }> {
    const result = await this.transaction(async (client) => {
      const payer = command.payerAccount;
      await this.openPayerAccount(client, payer);
      await this.openAccount(client, {
        accountNo: command.accountNo,
        bankCode: this.bankCode,
        name: `Sandbox account ${command.accountNo}`,
      });
      const accounts = await this.lock(client, [payer.accountNo, command.accountNo]);
      const from = accounts.get(payer.accountNo)!;
      const to = accounts.get(command.accountNo)!;
      if (toFen(from.balance_fen) < command.amountFen) {
        throw new SandboxProblem(
          422,
          'PAYER_INSUFFICIENT_FUNDS',
          'The payer cannot pay this',
          `the payer account holds ${from.balance_fen} fen`,
        );
      }
      const booked = await this.move(client, {
        from: party(from),
        to: party(to),
        amountFen: command.amountFen,
        endToEndId: command.reference,
        remittanceInfo: command.remittanceInfo ?? command.reference,
      });
      const eventId = newEventId();
      await this.outbox.enqueue(client, {
        eventId,
        type: 'payment_received',
        accountNo: command.accountNo,
        amountFen: command.amountFen,
        reference: command.reference,
        bankTxnId: booked.creditTxnId,
        occurredAt: chinaDateTime(booked.bookedAt),
        payerAccount: {
          bankCode: payer.bankCode,
          accountNo: payer.accountNo,
          accountName: payer.accountName,
        },
      });
      return { bankTxnId: booked.creditTxnId, eventId };
    });
    this.outbox.kick();
    return result;
  }

  /**
   * Executes an instruction once. The primary key decides who executes it: a concurrent or later
   * submission waits for the first to commit, then reads its outcome. `created` tells the route
   * whether this call executed it (201) or found it (200).
   */
  async submitTransfer(
    instruction: TransferInstruction,
  ): Promise<{ result: TransferResult; created: boolean }> {
    const outcome = await this.transaction(async (client) => {
      const inserted = await client.query(
        `INSERT INTO transfers (instruction_id, from_account_no, to_bank_code, to_account_no,
           to_account_name, amount_fen, purpose, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'accepted')
         ON CONFLICT (instruction_id) DO NOTHING RETURNING instruction_id`,
        [
          instruction.instructionId,
          instruction.fromAccountNo,
          instruction.to.bankCode,
          instruction.to.accountNo,
          instruction.to.accountName,
          instruction.amountFen,
          instruction.purpose,
        ],
      );
      if (inserted.rowCount === 0) {
        const { rows } = await client.query<TransferRow>(
          'SELECT * FROM transfers WHERE instruction_id = $1',
          [instruction.instructionId],
        );
        return { row: rows[0], created: false };
      }
      return { row: await this.execute(client, instruction), created: true };
    });
    if (!outcome.created && !sameInstruction(outcome.row, instruction)) {
      throw new SandboxProblem(
        409,
        'INSTRUCTION_ID_REUSED',
        'Instruction id already used for another instruction',
        `instruction ${instruction.instructionId} was received before with other details`,
        { transfer: toResult(outcome.row) },
      );
    }
    if (outcome.created) this.outbox.kick();
    return { result: toResult(outcome.row), created: outcome.created };
  }

  async getTransfer(instructionId: string): Promise<TransferResult | null> {
    const { rows } = await this.pool.query<TransferRow>(
      'SELECT * FROM transfers WHERE instruction_id = $1',
      [instructionId],
    );
    return rows[0] ? toResult(rows[0]) : null;
  }

  /** The accounts an instruction touches, for faults set per account. */
  async transferAccounts(instructionId: string): Promise<string[]> {
    const { rows } = await this.pool.query<TransferRow>(
      'SELECT from_account_no, to_account_no FROM transfers WHERE instruction_id = $1',
      [instructionId],
    );
    return rows[0] ? [rows[0].from_account_no, rows[0].to_account_no] : [];
  }

  /** The newest notifications (of one custody account), with their delivery state. */
  async notifications(accountNo: string | undefined, limit: number): Promise<NotificationView[]> {
    const { rows } = await this.pool.query<NotificationRow>(
      `SELECT event_id, type, account_no, body, copies, delivered_count, status, attempts,
         next_attempt_at, last_status, last_error, created_at, delivered_at
       FROM notifications WHERE ($1::text IS NULL OR account_no = $1)
       ORDER BY id DESC LIMIT $2`,
      [accountNo ?? null, limit],
    );
    return rows.map((row) => ({
      eventId: row.event_id,
      type: row.type,
      accountNo: row.account_no,
      status: row.status,
      copies: row.copies,
      deliveredCount: row.delivered_count,
      attempts: row.attempts,
      lastStatus: row.last_status,
      lastError: row.last_error,
      nextAttemptAt: row.status === 'pending' ? chinaDateTime(row.next_attempt_at) : null,
      createdAt: chinaDateTime(row.created_at),
      deliveredAt: row.delivered_at ? chinaDateTime(row.delivered_at) : null,
      body: JSON.parse(row.body) as NotificationBody,
    }));
  }

  /** Opens an account, or renames one; never touches a balance. */
  async upsertAccount(account: Party): Promise<void> {
    await this.pool.query(
      `INSERT INTO accounts (account_no, bank_code, name, kind, balance_fen)
       VALUES ($1, $2, $3, 'customer', 0)
       ON CONFLICT (account_no) DO UPDATE SET bank_code = EXCLUDED.bank_code, name = EXCLUDED.name`,
      [account.accountNo, account.bankCode, account.name],
    );
  }

  async account(accountNo: string, limit: number): Promise<AccountView | null> {
    const { rows } = await this.pool.query<AccountRow>(
      'SELECT * FROM accounts WHERE account_no = $1',
      [accountNo],
    );
    if (!rows[0]) return null;
    const movements = await this.pool.query<MovementRow>(
      `SELECT ${MOVEMENT_COLUMNS} FROM movements WHERE account_no = $1
       ORDER BY booked_at DESC, id DESC LIMIT $2`,
      [accountNo, limit],
    );
    return {
      accountNo,
      bankCode: rows[0].bank_code,
      accountName: rows[0].name,
      kind: rows[0].kind,
      balanceFen: toFen(rows[0].balance_fen),
      movements: movements.rows.map(toMovement).map((movement) => ({
        ...movement,
        bookedAt: chinaDateTime(movement.bookedAt),
      })),
    };
  }

  /**
   * The movements booked on the China dates `from`..`to`, with the balance before the first
   * and after the last. Each movement stores the balance it left, so both are one lookup.
   */
  async statement(accountNo: string, from: string, to: string): Promise<StatementData | null> {
    const { rows } = await this.pool.query<AccountRow>(
      'SELECT * FROM accounts WHERE account_no = $1',
      [accountNo],
    );
    if (!rows[0]) return null;
    const start = chinaDayStart(from);
    const end = new Date(chinaDayStart(to).getTime() + 86_400_000);
    const before = await this.pool.query<{ balance_after_fen: string }>(
      `SELECT balance_after_fen FROM movements WHERE account_no = $1 AND booked_at < $2
       ORDER BY booked_at DESC, id DESC LIMIT 1`,
      [accountNo, start],
    );
    const within = await this.pool.query<MovementRow>(
      `SELECT ${MOVEMENT_COLUMNS} FROM movements
       WHERE account_no = $1 AND booked_at >= $2 AND booked_at < $3
       ORDER BY booked_at, id`,
      [accountNo, start, end],
    );
    const movements = within.rows.map(toMovement);
    const openingBalanceFen = toFen(before.rows[0]?.balance_after_fen ?? 0);
    return {
      account: { accountNo, bankCode: rows[0].bank_code, name: rows[0].name },
      from,
      to,
      openingBalanceFen,
      closingBalanceFen: movements.at(-1)?.balanceAfterFen ?? openingBalanceFen,
      movements,
      createdAt: new Date(),
    };
  }

  private async execute(
    client: PoolClient,
    instruction: TransferInstruction,
  ): Promise<TransferRow> {
    const { fromAccountNo, to, amountFen } = instruction;
    await this.openAccount(client, {
      accountNo: to.accountNo,
      bankCode: to.bankCode,
      name: to.accountName,
    });
    const accounts = await this.lock(client, [fromAccountNo, to.accountNo]);
    const debtor = accounts.get(fromAccountNo);
    const creditor = accounts.get(to.accountNo)!;
    const rejected = await this.faults.take(
      [fromAccountNo, to.accountNo, GLOBAL_SCOPE],
      'reject_next',
      client,
    );
    let reason: string | null = null;
    if (!debtor) reason = UNKNOWN_DEBTOR_REASON;
    else if (rejected) reason = REJECTED_REASON;
    else if (toFen(debtor.balance_fen) < amountFen) reason = INSUFFICIENT_FUNDS_REASON;

    let bankTxnId: string;
    let occurredAt: Date;
    if (reason === null) {
      const booked = await this.move(client, {
        from: party(debtor!),
        to: party(creditor),
        amountFen,
        endToEndId: instruction.endToEndId,
        remittanceInfo: instruction.purpose === 'refund' ? '退费 refund' : '结算 settlement',
      });
      bankTxnId = booked.debitTxnId;
      occurredAt = booked.bookedAt;
    } else {
      // A refused instruction still gets the bank's reference: the notification carries one.
      bankTxnId = newBankTxnId();
      occurredAt = new Date();
    }
    const { rows } = await client.query<TransferRow>(
      `UPDATE transfers SET state = $2, bank_txn_id = $3, reason = $4, completed_at = now()
       WHERE instruction_id = $1 RETURNING *`,
      [instruction.instructionId, reason === null ? 'succeeded' : 'failed', bankTxnId, reason],
    );
    const notification: NotificationBody = {
      eventId: newEventId(),
      type: reason === null ? 'transfer_succeeded' : 'transfer_failed',
      accountNo: fromAccountNo,
      amountFen,
      reference: instruction.instructionId,
      bankTxnId,
      occurredAt: chinaDateTime(occurredAt),
      ...(reason === null ? {} : { reason }),
    };
    await this.outbox.enqueue(client, notification);
    return rows[0];
  }

  private async openAccount(client: PoolClient, account: Party): Promise<boolean> {
    const { rowCount } = await client.query(
      `INSERT INTO accounts (account_no, bank_code, name, kind, balance_fen)
       VALUES ($1, $2, $3, 'customer', 0) ON CONFLICT (account_no) DO NOTHING`,
      [account.accountNo, account.bankCode, account.name],
    );
    return rowCount === 1;
  }

  /** A parent's account appears on first use with a large balance, booked as an opening deposit. */
  private async openPayerAccount(client: PoolClient, payer: BankAccountRef): Promise<void> {
    const { rowCount } = await client.query(
      `INSERT INTO accounts (account_no, bank_code, name, kind, balance_fen)
       VALUES ($1, $2, $3, 'payer', $4) ON CONFLICT (account_no) DO NOTHING`,
      [payer.accountNo, payer.bankCode, payer.accountName, PAYER_OPENING_BALANCE_FEN],
    );
    if (rowCount !== 1) return;
    const bookedAt = await this.clock(client);
    await this.insertMovement(client, {
      accountNo: payer.accountNo,
      direction: 'credit',
      amountFen: PAYER_OPENING_BALANCE_FEN,
      balanceAfterFen: PAYER_OPENING_BALANCE_FEN,
      counterparty: null,
      endToEndId: null,
      bankTxnId: newBankTxnId(),
      remittanceInfo: '开户存入 sandbox opening deposit',
      bookedAt,
    });
  }

  /** Locks the accounts in account-number order (no deadlocks); missing ones are absent. */
  private async lock(client: PoolClient, accountNos: string[]): Promise<Map<string, AccountRow>> {
    const { rows } = await client.query<AccountRow>(
      `SELECT * FROM accounts WHERE account_no = ANY($1) ORDER BY account_no FOR UPDATE`,
      [accountNos],
    );
    return new Map(rows.map((row) => [row.account_no, row]));
  }

  /** Debits one locked account and credits the other, one movement each. */
  private async move(
    client: PoolClient,
    transfer: {
      from: Party;
      to: Party;
      amountFen: number;
      endToEndId: string;
      remittanceInfo: string;
    },
  ): Promise<{ debitTxnId: string; creditTxnId: string; bookedAt: Date }> {
    // Read after the locks are held, so booking times follow the order of the books.
    const bookedAt = await this.clock(client);
    const debitTxnId = newBankTxnId();
    const creditTxnId = newBankTxnId();
    for (const [own, other, direction, bankTxnId] of [
      [transfer.from, transfer.to, 'debit', debitTxnId],
      [transfer.to, transfer.from, 'credit', creditTxnId],
    ] as const) {
      const { rows } = await client.query<{ balance_fen: string }>(
        `UPDATE accounts SET balance_fen = balance_fen + $2 WHERE account_no = $1
         RETURNING balance_fen`,
        [own.accountNo, direction === 'credit' ? transfer.amountFen : -transfer.amountFen],
      );
      await this.insertMovement(client, {
        accountNo: own.accountNo,
        direction,
        amountFen: transfer.amountFen,
        balanceAfterFen: toFen(rows[0].balance_fen),
        counterparty: other,
        endToEndId: transfer.endToEndId,
        bankTxnId,
        remittanceInfo: transfer.remittanceInfo,
        bookedAt,
      });
    }
    return { debitTxnId, creditTxnId, bookedAt };
  }

  private async insertMovement(
    client: PoolClient,
    movement: {
      accountNo: string;
      direction: 'debit' | 'credit';
      amountFen: number;
      balanceAfterFen: number;
      counterparty: Party | null;
      endToEndId: string | null;
      bankTxnId: string;
      remittanceInfo: string;
      bookedAt: Date;
    },
  ): Promise<void> {
    await client.query(
      `INSERT INTO movements (account_no, direction, amount_fen, balance_after_fen,
         counterparty_bank_code, counterparty_account_no, counterparty_name, end_to_end_id,
         bank_txn_id, remittance_info, booked_at, value_date)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        movement.accountNo,
        movement.direction,
        movement.amountFen,
        movement.balanceAfterFen,
        movement.counterparty?.bankCode ?? null,
        movement.counterparty?.accountNo ?? null,
        movement.counterparty?.name ?? null,
        movement.endToEndId,
        movement.bankTxnId,
        movement.remittanceInfo,
        movement.bookedAt,
        chinaDate(movement.bookedAt),
      ],
    );
  }

  private async clock(client: PoolClient): Promise<Date> {
    const { rows } = await client.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    return rows[0].now;
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }
}

function party(row: AccountRow): Party {
  return { accountNo: row.account_no, bankCode: row.bank_code, name: row.name };
}

/** `SBX` + China date + 16 hex digits: unique without a counter, even across sandbox databases. */
function newBankTxnId(): string {
  return `SBX${chinaDate().replace(/-/g, '')}${randomBytes(8).toString('hex').toUpperCase()}`;
}

function newEventId(): string {
  return `sbx_evt_${randomUUID()}`;
}
