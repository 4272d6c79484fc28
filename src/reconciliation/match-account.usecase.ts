/**
 * MatchAccount (DESIGN.md §5.6, R-REC-04/05): every open bank line of one custody account is
 * matched to a ledger movement, set-based in SQL (a handful of statements whatever the number of
 * lines), in one transaction under the account's reconciliation lock:
 *
 * 1. by reference: a debit whose EndToEndId (客户参考号) is our instruction id, or whose bank
 *    reference is the instruction's bank transaction id; a credit whose bank reference is the
 *    bank transaction id of a payment notification. A referenced movement with another amount is
 *    an amount mismatch;
 * 2. by amount + date + counterparty: same direction and amount, booked within the tolerance of
 *    days, counterparty account equal where both sides know it; only pairs that are each other's
 *    best candidate, so no movement is claimed twice;
 * 3. reversals (RvslInd, 冲正): the reversed line is found (by EndToEndId, else amount,
 *    counterparty and date); a reversed instruction is reopened (its completion is reversed in
 *    the ledger, the instruction fails, an operator may retry it); a reversed payment or manual
 *    booking is raised for an operator; a reversed line nothing had matched pairs off with it;
 * 4. what is left: bank-only lines; ledger movements of covered days no line claims are
 *    ledger-only; exceptions explained meanwhile are resolved;
 * 5. the days of the account are evaluated (day-close.ts).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { BankInstructionsService } from '../bank/bank-instructions.service';
import { OperatorExceptionsService } from '../exceptions/operator-exceptions.service';
import { LedgerService } from '../ledger/ledger.service';
import { CustodyAccount, findCustodyAccount, lockAccount } from './custody-account';
import { CHINA_ZONE, evaluateDays } from './day-close';
import { RECONCILIATION_OPTIONS, ReconciliationOptions } from './reconciliation.constants';

export interface MatchSummary {
  accountNo: string;
  matchedByReference: number;
  matchedByAmountAndDate: number;
  mismatched: number;
  reversals: number;
  reopenedInstructions: string[];
  bankOnly: number;
  ledgerOnly: number;
  resolved: number;
  daysEvaluated: number;
  /** Where the time went, by step. */
  timingsMs: Record<string, number>;
}

/** A reference read as a UUID when it is one, with hyphens or (as EndToEndId carries it) without. */
const asUuid = (column: string) =>
  `(CASE WHEN ${column} ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN ${column}::uuid END)`;
const OPEN_LINE = `l.account_no = $1 AND l.status IN ('unmatched', 'bank_only') AND NOT l.reversal`;
/**
 * The China date on which the ledger booked a transaction on custody_cash (the custody_cash
 * account id is the query's parameter `custody`): what the daily close compares at midnight.
 */
const ledgerDateOf = (transaction: string, custody: string) =>
  `(SELECT ${chinaDay('lp.recorded_at')} FROM ledger_postings lp
    WHERE lp.transaction_id = ${transaction} AND lp.account_id = ${custody} LIMIT 1)`;
/** The China date of a timestamptz column. */
const chinaDay = (column: string) => `(${column} AT TIME ZONE '${CHINA_ZONE}')::date`;
/** The instant a China date (an SQL date expression) begins. */
const chinaMidnight = (day: string) => `((${day})::timestamp AT TIME ZONE '${CHINA_ZONE}')`;

/**
 * The SET list of a line matched by reference (`rule`) to `link` (instruction_id or payment_id =
 * c.<link>): matched when its amount is `expected`, else an amount mismatch that keeps the link
 * but names no ledger transaction. The candidate row is `c`; the custody account is $2.
 */
const referenceMatch = (rule: string, link: string, expected: string, transaction: string) => `
         status = CASE WHEN l.amount_fen = c.${expected} THEN 'matched' ELSE 'amount_mismatch' END,
         match_rule = '${rule}',
         ${link} = c.${link},
         ledger_transaction_id = CASE WHEN l.amount_fen = c.${expected} THEN c.${transaction} END,
         ledger_date = CASE WHEN l.amount_fen = c.${expected}
                            THEN ${ledgerDateOf(`c.${transaction}`, '$2')} END,
         matched_at = now()`;

interface ReversalPair {
  reversal_id: string;
  reversal_ref: string;
  reversal_date: string;
  original_id: string | null;
  original_status: string | null;
  instruction_id: string | null;
  payment_id: string | null;
  amount_fen: string;
  direction: string;
}

@Injectable()
export class MatchAccount {
  private readonly logger = new Logger(MatchAccount.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly exceptions: OperatorExceptionsService,
    private readonly instructions: BankInstructionsService,
    @Inject(RECONCILIATION_OPTIONS) private readonly options: ReconciliationOptions,
  ) {}

  async execute(accountNo: string): Promise<MatchSummary | undefined> {
    const summary = await this.dataSource.transaction(async (manager) => {
      const account = await findCustodyAccount(manager, accountNo);
      if (!account) return undefined;
      await lockAccount(manager, accountNo);
      return this.match(manager, account);
    });
    if (summary) {
      // Logs name accounts by their last four digits only.
      this.logger.log({ ...summary, accountNo: `****${accountNo.slice(-4)}` }, 'account matched');
    }
    return summary;
  }

  private async match(manager: EntityManager, account: CustodyAccount): Promise<MatchSummary> {
    const timingsMs: Record<string, number> = {};
    const timed = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
      const started = Date.now();
      try {
        return await work();
      } finally {
        timingsMs[step] = (timingsMs[step] ?? 0) + Date.now() - started;
      }
    };
    const byReference = await timed(
      'reference',
      async () =>
        (await this.byInstructionReference(manager, account, 'end_to_end_id')) +
        (await this.byInstructionReference(manager, account, 'bank_txn_id')) +
        (await this.byPaymentReference(manager, account)),
    );
    let byAmountAndDate = 0;
    // Each pass pairs mutual best candidates; a second pass finds pairs the first one freed.
    for (let pass = 0; pass < 3; pass++) {
      const matched = await timed('amountDate', () => this.byAmountAndDate(manager, account));
      byAmountAndDate += matched;
      if (matched === 0) break;
    }
    const { reversals, reopened } = await timed('reversals', () =>
      this.reversals(manager, account),
    );
    const bankOnly = await timed('bankOnly', () => this.bankOnly(manager, account));
    const mismatched = await timed('mismatches', () => this.mismatches(manager, account));
    const ledgerOnly = await timed('ledgerOnly', () => this.ledgerOnly(manager, account));
    const resolved = await timed('resolve', () => this.resolveExplained(manager, account));
    const daysEvaluated = await timed('days', async () => {
      const [period]: { from: string | null; to: string | null }[] = await manager.query(
        `SELECT min(from_date)::text AS from, max(to_date)::text AS to
         FROM reconciliation_statements WHERE account_no = $1 AND matched_at IS NULL`,
        [account.accountNo],
      );
      return evaluateDays(
        manager,
        account,
        period.from && period.to ? { from: period.from, to: period.to } : undefined,
      );
    });
    await manager.query(
      `UPDATE reconciliation_statements SET matched_at = now()
       WHERE account_no = $1 AND matched_at IS NULL`,
      [account.accountNo],
    );
    return {
      accountNo: account.accountNo,
      matchedByReference: byReference,
      matchedByAmountAndDate: byAmountAndDate,
      mismatched,
      reversals,
      reopenedInstructions: reopened,
      bankOnly,
      ledgerOnly,
      resolved,
      daysEvaluated,
      timingsMs,
    };
  }

  /** Debits naming a succeeded instruction of this account (EndToEndId, or its bank txn id). */
  private async byInstructionReference(
    manager: EntityManager,
    account: CustodyAccount,
    by: 'end_to_end_id' | 'bank_txn_id',
  ): Promise<number> {
    // Index-driven from either side (ix_reconciliation_lines_end_to_end, the bank_ref key), so
    // that no estimate makes it a product of lines and instructions.
    const join =
      by === 'end_to_end_id'
        ? `lower(l.end_to_end_id) IN (b.id::text, replace(b.id::text, '-', ''))
           AND l.account_no = b.from_account_no`
        : 'l.bank_ref = b.bank_txn_id AND l.account_no = b.from_account_no';
    const [, count]: [unknown, number] = await manager.query(
      `WITH candidate AS (
         SELECT DISTINCT ON (b.id) l.id AS line_id, b.id AS instruction_id,
                b.amount_fen AS instructed_fen, b.completion_transaction_id
         FROM reconciliation_lines l
         JOIN bank_instructions b ON ${join}
         WHERE ${OPEN_LINE} AND l.direction = 'debit'
           AND b.from_account_no = $1 AND b.status = 'succeeded'
           AND NOT EXISTS (SELECT 1 FROM reconciliation_lines x WHERE x.instruction_id = b.id)
         ORDER BY b.id, (l.amount_fen = b.amount_fen) DESC, l.booking_date, l.id
       )
       UPDATE reconciliation_lines l SET ${referenceMatch('instruction_ref', 'instruction_id', 'instructed_fen', 'completion_transaction_id')}
       FROM candidate c WHERE l.id = c.line_id`,
      [account.accountNo, account.custodyCashAccountId],
    );
    return count;
  }

  /** Credits whose bank reference is the bank transaction id of a payment notification. */
  private async byPaymentReference(manager: EntityManager, account: CustodyAccount) {
    const [, count]: [unknown, number] = await manager.query(
      `WITH candidate AS (
         SELECT l.id AS line_id, p.id AS payment_id, p.amount_fen AS notified_fen,
                p.ledger_transaction_id
         FROM reconciliation_lines l
         JOIN payments p ON p.bank_txn_id = l.bank_ref
         WHERE ${OPEN_LINE} AND l.direction = 'credit'
           AND p.account_no = $1 AND p.ledger_transaction_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM reconciliation_lines x WHERE x.payment_id = p.id)
       )
       UPDATE reconciliation_lines l SET ${referenceMatch('payment_ref', 'payment_id', 'notified_fen', 'ledger_transaction_id')}
       FROM candidate c WHERE l.id = c.line_id`,
      [account.accountNo, account.custodyCashAccountId],
    );
    return count;
  }

  /** Same direction and amount, within the tolerance of days, counterparty agreeing. */
  private async byAmountAndDate(manager: EntityManager, account: CustodyAccount) {
    const [, count]: [unknown, number] = await manager.query(
      `WITH line AS MATERIALIZED (
         SELECT l.id, l.direction, l.amount_fen, l.booking_date, l.counterparty_account
         FROM reconciliation_lines l WHERE ${OPEN_LINE}
       ),
       bounds AS (
         SELECT ${chinaMidnight('min(booking_date) - $2::int')} AS lo,
                ${chinaMidnight('max(booking_date) + $2::int + 1')} AS hi
         FROM line
       ),
       movement AS MATERIALIZED (
         SELECT 'payment' AS kind, p.id, 'credit' AS direction, p.amount_fen,
                ${chinaDay('p.occurred_at')} AS day, p.payer_account_no AS counterparty,
                p.ledger_transaction_id
         FROM payments p, bounds
         WHERE p.account_no = $1 AND p.ledger_transaction_id IS NOT NULL
           AND p.occurred_at >= bounds.lo AND p.occurred_at < bounds.hi
           AND NOT EXISTS (SELECT 1 FROM reconciliation_lines x WHERE x.payment_id = p.id)
         UNION ALL
         SELECT 'instruction', b.id, 'debit', b.amount_fen, ${chinaDay('b.completed_at')},
                b.to_account_no, b.completion_transaction_id
         FROM bank_instructions b, bounds
         WHERE b.from_account_no = $1 AND b.status = 'succeeded'
           AND b.completed_at >= bounds.lo AND b.completed_at < bounds.hi
           AND NOT EXISTS (SELECT 1 FROM reconciliation_lines x WHERE x.instruction_id = b.id)
       ),
       pair AS (
         SELECT l.id AS line_id, m.kind, m.id AS movement_id, m.ledger_transaction_id,
                row_number() OVER (PARTITION BY l.id
                  ORDER BY abs(l.booking_date - m.day),
                           (l.counterparty_account = m.counterparty) IS TRUE DESC, m.day, m.id)
                  AS line_rank,
                row_number() OVER (PARTITION BY m.kind, m.id
                  ORDER BY abs(l.booking_date - m.day),
                           (l.counterparty_account = m.counterparty) IS TRUE DESC, l.booking_date, l.id)
                  AS movement_rank
         FROM line l
         JOIN movement m ON m.direction = l.direction AND m.amount_fen = l.amount_fen
           AND abs(l.booking_date - m.day) <= $2::int
           AND (l.counterparty_account IS NULL OR m.counterparty IS NULL
                OR l.counterparty_account = m.counterparty)
       )
       UPDATE reconciliation_lines l SET
         status = 'matched',
         match_rule = 'amount_date',
         payment_id = CASE WHEN p.kind = 'payment' THEN p.movement_id END,
         instruction_id = CASE WHEN p.kind = 'instruction' THEN p.movement_id END,
         ledger_transaction_id = p.ledger_transaction_id,
         ledger_date = ${ledgerDateOf('p.ledger_transaction_id', '$3')},
         matched_at = now()
       FROM pair p
       WHERE l.id = p.line_id AND p.line_rank = 1 AND p.movement_rank = 1`,
      [account.accountNo, this.options.toleranceDays, account.custodyCashAccountId],
    );
    return count;
  }

  /** Pairs each open reversal with the line it reverses, and undoes what that line meant. */
  private async reversals(
    manager: EntityManager,
    account: CustodyAccount,
  ): Promise<{ reversals: number; reopened: string[] }> {
    const pairs: ReversalPair[] = await manager.query(
      `WITH rev AS (
         SELECT * FROM reconciliation_lines
         WHERE account_no = $1 AND reversal AND status IN ('unmatched', 'bank_only')
       ),
       orig AS (
         SELECT * FROM reconciliation_lines
         WHERE account_no = $1 AND NOT reversal
           AND status IN ('matched', 'unmatched', 'bank_only')
           AND match_rule IS DISTINCT FROM 'reversal_pair'
       ),
       candidate AS (
         SELECT r.id AS reversal_id, o.id AS original_id,
                row_number() OVER (PARTITION BY r.id
                  ORDER BY o.booking_date DESC, o.id DESC) AS r_rank,
                row_number() OVER (PARTITION BY o.id ORDER BY r.booking_date, r.id) AS o_rank
         FROM rev r JOIN orig o
           ON o.direction <> r.direction AND o.amount_fen = r.amount_fen
          AND o.booking_date <= r.booking_date
          AND CASE WHEN r.end_to_end_id IS NOT NULL
                   THEN lower(o.end_to_end_id) = lower(r.end_to_end_id)
                   ELSE r.booking_date - o.booking_date <= $2::int
                        AND (r.counterparty_account IS NULL OR o.counterparty_account IS NULL
                             OR r.counterparty_account = o.counterparty_account) END
       ),
       chosen AS (SELECT * FROM candidate WHERE r_rank = 1 AND o_rank = 1)
       SELECT r.id AS reversal_id, r.bank_ref AS reversal_ref, r.booking_date::text AS reversal_date,
              o.id AS original_id, o.status AS original_status,
              coalesce(o.instruction_id, b.id) AS instruction_id, o.payment_id,
              r.amount_fen, r.direction
       FROM rev r
       LEFT JOIN chosen c ON c.reversal_id = r.id
       LEFT JOIN reconciliation_lines o ON o.id = c.original_id
       LEFT JOIN bank_instructions b
         ON c.original_id IS NULL AND r.direction = 'credit' AND b.from_account_no = $1
        AND b.status = 'succeeded' AND b.id = ${asUuid('r.end_to_end_id')}
        AND NOT EXISTS (SELECT 1 FROM reconciliation_lines x WHERE x.instruction_id = b.id)
       ORDER BY r.id`,
      [account.accountNo, this.options.toleranceDays],
    );
    let reversals = 0;
    const reopened: string[] = [];
    for (const pair of pairs) {
      const original = pair.original_id;
      if (original !== null && pair.original_status !== 'matched') {
        // Money the ledger never saw came and went: the two lines explain each other.
        await manager.query(
          `UPDATE reconciliation_lines SET status = 'matched', match_rule = 'reversal_pair',
             paired_line_id = CASE id WHEN $1 THEN $2::bigint ELSE $1::bigint END,
             ledger_date = $3::date, matched_at = now()
           WHERE id IN ($1, $2)`,
          [original, pair.reversal_id, pair.reversal_date],
        );
        reversals += 1;
      } else if (pair.instruction_id !== null) {
        const reversalTransactionId = await this.reopenInstruction(manager, account, pair);
        if (!reversalTransactionId) continue; // not ours to undo: stays open, becomes bank-only
        if (original !== null) {
          await manager.query(`UPDATE reconciliation_lines SET status = 'reversed' WHERE id = $1`, [
            original,
          ]);
        }
        await manager.query(
          `UPDATE reconciliation_lines SET status = 'reversal', match_rule = 'reversal_reopen',
             paired_line_id = $2, instruction_id = $3, ledger_transaction_id = $4,
             ledger_date = ${ledgerDateOf('$4::uuid', '$5::uuid')}, matched_at = now()
           WHERE id = $1`,
          [
            pair.reversal_id,
            original,
            original === null ? pair.instruction_id : null,
            reversalTransactionId,
            account.custodyCashAccountId,
          ],
        );
        reopened.push(pair.instruction_id);
        reversals += 1;
      } else if (original !== null) {
        // A payment (or a manual booking) the bank took back: the ledger still holds the money.
        await manager.query(`UPDATE reconciliation_lines SET status = 'reversed' WHERE id = $1`, [
          original,
        ]);
        await manager.query(
          `UPDATE reconciliation_lines SET status = 'reversal', match_rule = 'reversal_pair',
             paired_line_id = $2, ledger_date = booking_date, matched_at = now()
           WHERE id = $1`,
          [pair.reversal_id, original],
        );
        await manager.query(
          `INSERT INTO reconciliation_exceptions (kind, subject, account_no, institution_id,
             district_id, business_date, direction, amount_fen, line_id, payment_id, details)
           SELECT 'reversal', 'line:' || r.id, $2, $3, $4, r.booking_date, r.direction,
                  r.amount_fen, r.id, o.payment_id,
                  jsonb_build_object('bankRef', r.bank_ref, 'reversedLineId', o.id,
                    'reversedBankRef', o.bank_ref, 'paymentId', o.payment_id,
                    'ledgerTransactionId', o.ledger_transaction_id,
                    'note', 'the bank took back money the ledger still holds')
           FROM reconciliation_lines r JOIN reconciliation_lines o ON o.id = $5
           WHERE r.id = $1
           ON CONFLICT (kind, subject) WHERE status = 'open' DO NOTHING`,
          [
            pair.reversal_id,
            account.accountNo,
            account.institutionId,
            account.districtId,
            original,
          ],
        );
        reversals += 1;
      }
    }
    return { reversals, reopened };
  }

  /**
   * The bank reversed a transfer we instructed: its completion is reversed in the ledger (the money
   * is back in custody and again owed in the payable), the instruction fails and so does the batch
   * or refund it paid, and operators are told, as for a transfer that failed; a retry pays again.
   * This mirrors InstructionOutcomeHandler.failed of settlements and refunds.
   */
  private async reopenInstruction(
    manager: EntityManager,
    account: CustodyAccount,
    pair: ReversalPair,
  ): Promise<string | undefined> {
    const [instruction]: {
      id: string;
      purpose: 'settlement' | 'refund';
      subject_id: string;
      status: string;
      amount_fen: string;
      completion_transaction_id: string | null;
    }[] = await manager.query(
      `SELECT id, purpose, subject_id, status, amount_fen, completion_transaction_id
       FROM bank_instructions WHERE id = $1 AND from_account_no = $2 FOR UPDATE`,
      [pair.instruction_id, account.accountNo],
    );
    if (
      !instruction ||
      instruction.status !== 'succeeded' ||
      !instruction.completion_transaction_id ||
      instruction.amount_fen !== pair.amount_fen
    ) {
      return undefined;
    }
    const reason = `reversed by the bank (statement line ${pair.reversal_ref}, ${pair.reversal_date})`;
    const reversalTransactionId = await this.ledger.reverse(manager, {
      transactionId: instruction.completion_transaction_id,
      reference: `instruction:${instruction.id}:reversed`,
      metadata: {
        instructionId: instruction.id,
        bankRef: pair.reversal_ref,
        reconciliationLineId: pair.reversal_id,
        reason,
      },
    });
    await this.instructions.reopen(manager, instruction.id, reason);
    const table = instruction.purpose === 'settlement' ? 'settlement_batches' : 'refunds';
    await manager.query(`UPDATE ${table} SET status = 'failed', paid_at = NULL WHERE id = $1`, [
      instruction.subject_id,
    ]);
    await this.exceptions.raise(manager, {
      kind: 'instruction_failed',
      subjectId: instruction.id,
      districtId: account.districtId,
      institutionId: account.institutionId,
      amountFen: Number(instruction.amount_fen),
      details: {
        instructionId: instruction.id,
        reason,
        reversalTransactionId,
        retry: `POST /v1/bank/instructions/${instruction.id}/retry`,
      },
    });
    return reversalTransactionId;
  }

  /** Lines nothing explains: bank-only, each raised once. */
  private async bankOnly(manager: EntityManager, account: CustodyAccount): Promise<number> {
    const rows: unknown[] = await manager.query(
      `WITH marked AS (
         UPDATE reconciliation_lines SET status = 'bank_only'
         WHERE account_no = $1 AND status = 'unmatched'
         RETURNING id, direction, amount_fen, booking_date, bank_ref, end_to_end_id,
                   counterparty_account, counterparty_name, remittance_info, reversal
       )
       INSERT INTO reconciliation_exceptions (kind, subject, account_no, institution_id,
         district_id, business_date, direction, amount_fen, line_id, instruction_id, details)
       SELECT 'bank_only', 'line:' || m.id, $1, $2, $3, m.booking_date, m.direction,
              m.amount_fen, m.id, b.id,
              jsonb_strip_nulls(jsonb_build_object(
                'bankRef', m.bank_ref, 'endToEndId', m.end_to_end_id,
                'counterpartyAccount', m.counterparty_account,
                'counterpartyName', m.counterparty_name, 'remittanceInfo', m.remittance_info,
                'reversal', m.reversal, 'instructionStatus', b.status))
       FROM marked m
       LEFT JOIN bank_instructions b ON b.id = ${asUuid('m.end_to_end_id')} AND b.from_account_no = $1
       ON CONFLICT (kind, subject) WHERE status = 'open' DO NOTHING
       RETURNING id`,
      [account.accountNo, account.institutionId, account.districtId],
    );
    return rows.length;
  }

  /** A referenced movement whose amount differs from the bank's, raised once. */
  private async mismatches(manager: EntityManager, account: CustodyAccount): Promise<number> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO reconciliation_exceptions (kind, subject, account_no, institution_id,
         district_id, business_date, direction, amount_fen, ledger_amount_fen, line_id,
         instruction_id, payment_id, ledger_transaction_id, details)
       SELECT 'amount_mismatch', 'line:' || l.id, $1, $2, $3, l.booking_date, l.direction,
              l.amount_fen, coalesce(b.amount_fen, p.amount_fen), l.id, l.instruction_id,
              l.payment_id, coalesce(b.completion_transaction_id, p.ledger_transaction_id),
              jsonb_strip_nulls(jsonb_build_object('bankRef', l.bank_ref,
                'endToEndId', l.end_to_end_id,
                'differenceFen', l.amount_fen - coalesce(b.amount_fen, p.amount_fen)))
       FROM reconciliation_lines l
       LEFT JOIN bank_instructions b ON b.id = l.instruction_id
       LEFT JOIN payments p ON p.id = l.payment_id
       WHERE l.account_no = $1 AND l.status = 'amount_mismatch'
         AND NOT EXISTS (SELECT 1 FROM reconciliation_exceptions e
                         WHERE e.kind = 'amount_mismatch' AND e.line_id = l.id)
       ON CONFLICT (kind, subject) WHERE status = 'open' DO NOTHING
       RETURNING id`,
      [account.accountNo, account.institutionId, account.districtId],
    );
    return rows.length;
  }

  /**
   * Ledger movements of the open days (those the statements cover and that have not closed) that
   * no line claims: the bank never executed them (or not yet: a later statement's line resolves
   * the exception).
   */
  private async ledgerOnly(manager: EntityManager, account: CustodyAccount): Promise<number> {
    const rows: unknown[] = await manager.query(
      `WITH covered AS (
         SELECT ${chinaMidnight('day')} AS lo, ${chinaMidnight('day + 1')} AS hi
         FROM reconciliation_days WHERE account_no = $1 AND status = 'open'
       ),
       movement AS (
         SELECT 'payment:' || p.id AS subject, ${chinaDay('p.occurred_at')} AS day,
                'credit' AS direction, p.amount_fen, NULL::uuid AS instruction_id,
                p.id AS payment_id, p.ledger_transaction_id,
                jsonb_build_object('bankTxnId', p.bank_txn_id, 'reference', p.reference,
                                   'outcome', p.outcome) AS details
         FROM covered c
         JOIN payments p ON p.account_no = $1 AND p.occurred_at >= c.lo AND p.occurred_at < c.hi
         WHERE p.ledger_transaction_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM reconciliation_lines x WHERE x.payment_id = p.id)
         UNION ALL
         SELECT 'instruction:' || b.id, ${chinaDay('b.completed_at')}, 'debit', b.amount_fen,
                b.id, NULL::uuid, b.completion_transaction_id,
                jsonb_build_object('purpose', b.purpose, 'bankTxnId', b.bank_txn_id,
                                   'toAccountNo', b.to_account_no)
         FROM covered c
         JOIN bank_instructions b ON b.from_account_no = $1 AND b.status = 'succeeded'
           AND b.completed_at >= c.lo AND b.completed_at < c.hi
         WHERE NOT EXISTS (SELECT 1 FROM reconciliation_lines x WHERE x.instruction_id = b.id)
       )
       INSERT INTO reconciliation_exceptions (kind, subject, account_no, institution_id,
         district_id, business_date, direction, amount_fen, instruction_id, payment_id,
         ledger_transaction_id, details)
       SELECT 'ledger_only', m.subject, $1, $2, $3, m.day, m.direction, m.amount_fen,
              m.instruction_id, m.payment_id, m.ledger_transaction_id, m.details
       FROM movement m
       ON CONFLICT (kind, subject) WHERE status = 'open' DO NOTHING
       RETURNING id`,
      [account.accountNo, account.institutionId, account.districtId],
    );
    return rows.length;
  }

  /** Open exceptions that matching has since explained. */
  private async resolveExplained(manager: EntityManager, account: CustodyAccount) {
    const [, lines]: [unknown, number] = await manager.query(
      `UPDATE reconciliation_exceptions e SET status = 'resolved', resolved_at = now(),
         resolved_by = 'system', resolution = 'matched'
       FROM reconciliation_lines l
       WHERE e.account_no = $1 AND e.status = 'open' AND e.kind = 'bank_only'
         AND l.id = e.line_id AND l.status IN ('matched', 'reversed', 'reversal')`,
      [account.accountNo],
    );
    const [, movements]: [unknown, number] = await manager.query(
      `UPDATE reconciliation_exceptions e SET status = 'resolved', resolved_at = now(),
         resolved_by = 'system',
         resolution = CASE WHEN b.status IS DISTINCT FROM 'failed' THEN 'line_found'
                           ELSE 'instruction_reopened' END
       FROM reconciliation_exceptions x
       LEFT JOIN bank_instructions b ON b.id = x.instruction_id
       WHERE x.id = e.id AND e.account_no = $1 AND e.status = 'open' AND e.kind = 'ledger_only'
         AND (b.status = 'failed'
              OR EXISTS (SELECT 1 FROM reconciliation_lines l
                         WHERE l.instruction_id = e.instruction_id OR l.payment_id = e.payment_id))`,
      [account.accountNo],
    );
    return lines + movements;
  }
}
