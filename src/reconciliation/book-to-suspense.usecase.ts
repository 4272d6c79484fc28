/**
 * BookToSuspense (DESIGN.md rule 15): money on the bank statement that the ledger never heard of
 * is booked to the institution's suspense account by two distinct operators. The first call
 * proposes, with a reason; a second call by another operator approves and posts custody_cash →
 * suspense (or back, for a bank-only debit) as a manual ledger transaction, and the bank line
 * counts as matched (manual) from then on. The same operator cannot do both.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import { IdempotencyService } from '../common/idempotency/idempotency.service';
import type { IdempotentRequest } from '../common/idempotency/idempotency.service';
import { LedgerService } from '../ledger/ledger.service';
import { findCustodyAccount, lockAccount } from './custody-account';
import { evaluateDays } from './day-close';
import { ReconciliationErrorCode, reconciliationError } from './reconciliation.errors';

export interface BookToSuspenseCommand {
  principal: Principal;
  exceptionId: string;
  reason: string;
  idempotency?: IdempotentRequest;
}

export interface BookToSuspenseResult {
  exceptionId: string;
  status: 'proposed' | 'resolved';
  proposedBy: string;
  approvedBy: string | null;
  amountFen: number;
  direction: 'credit' | 'debit';
  ledgerTransactionId: string | null;
}

interface ExceptionRow {
  id: string;
  kind: string;
  status: 'open' | 'resolved';
  account_no: string;
  institution_id: string;
  direction: 'credit' | 'debit';
  amount_fen: string;
  line_id: string | null;
  proposed_by: string | null;
  proposal_reason: string | null;
}

@Injectable()
export class BookToSuspense {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly ledger: LedgerService,
  ) {}

  execute(command: BookToSuspenseCommand): Promise<BookToSuspenseResult> {
    return this.idempotency.execute(command.idempotency, (manager) => this.book(manager, command));
  }

  private async book(
    manager: EntityManager,
    command: BookToSuspenseCommand,
  ): Promise<BookToSuspenseResult> {
    const { principal } = command;
    // The account lock first, then the row (the order matching takes them in).
    const exception = await this.findException(manager, command.exceptionId, principal, false);
    const account = await findCustodyAccount(manager, exception.account_no);
    if (!account) throw new Error(`custody account ${exception.account_no} vanished`);
    await lockAccount(manager, account.accountNo);
    const current = await this.findException(manager, command.exceptionId, principal, true);
    if (current.status === 'resolved') {
      throw reconciliationError(
        ReconciliationErrorCode.EXCEPTION_ALREADY_RESOLVED,
        'This exception is already resolved; nothing was booked.',
      );
    }
    if (current.kind !== 'bank_only' || current.line_id === null) {
      throw reconciliationError(
        ReconciliationErrorCode.EXCEPTION_NOT_BOOKABLE,
        `A ${current.kind} exception is not money the ledger lacks; it cannot be booked to suspense.`,
      );
    }
    const amountFen = Number(current.amount_fen);
    if (current.proposed_by === null) {
      await manager.query(
        `UPDATE reconciliation_exceptions
         SET proposed_by = $2, proposed_at = now(), proposal_reason = $3 WHERE id = $1`,
        [current.id, principal.sub, command.reason],
      );
      return {
        exceptionId: current.id,
        status: 'proposed',
        proposedBy: principal.sub,
        approvedBy: null,
        amountFen,
        direction: current.direction,
        ledgerTransactionId: null,
      };
    }
    if (current.proposed_by === principal.sub) {
      throw reconciliationError(
        ReconciliationErrorCode.SECOND_OPERATOR_REQUIRED,
        'You proposed this booking; another operator must approve it.',
      );
    }
    const accounts = await this.ledger.institutionAccounts(manager, account.institutionId);
    const [line]: { id: string; bank_ref: string; booked_at: Date | null; status: string }[] =
      await manager.query(
        'SELECT id, bank_ref, booked_at, status FROM reconciliation_lines WHERE id = $1 FOR UPDATE',
        [current.line_id],
      );
    const credit = current.direction === 'credit';
    const ledgerTransactionId = await this.ledger.post(manager, {
      kind: 'manual_adjustment',
      reference: `reconciliation:${current.id}:suspense`,
      institutionId: account.institutionId,
      manual: true,
      effectiveAt: line.booked_at ?? undefined,
      metadata: {
        reconciliationExceptionId: current.id,
        reconciliationLineId: line.id,
        bankRef: line.bank_ref,
        reason: current.proposal_reason,
        approvalNote: command.reason,
        proposedBy: current.proposed_by,
        approvedBy: principal.sub,
      },
      transfers: [
        {
          debitAccountId: credit ? accounts.custody_cash : accounts.suspense,
          creditAccountId: credit ? accounts.suspense : accounts.custody_cash,
          amountFen,
        },
      ],
    });
    await manager.query(
      `UPDATE reconciliation_lines l SET status = 'matched', match_rule = 'manual',
         ledger_transaction_id = $2, matched_at = now(),
         ledger_date = (SELECT (p.recorded_at AT TIME ZONE 'Asia/Shanghai')::date
                        FROM ledger_postings p WHERE p.transaction_id = $2 AND p.account_id = $3
                        LIMIT 1)
       WHERE l.id = $1`,
      [line.id, ledgerTransactionId, accounts.custody_cash],
    );
    await manager.query(
      `UPDATE reconciliation_exceptions SET status = 'resolved', resolved_at = now(),
         resolved_by = $2, resolution = 'booked_to_suspense', resolution_note = $3,
         resolution_transaction_id = $4
       WHERE id = $1`,
      [current.id, principal.sub, command.reason, ledgerTransactionId],
    );
    await evaluateDays(manager, account);
    return {
      exceptionId: current.id,
      status: 'resolved',
      proposedBy: current.proposed_by,
      approvedBy: principal.sub,
      amountFen,
      direction: current.direction,
      ledgerTransactionId,
    };
  }

  /** The exception when it is in the operator's district (locked if asked); 404 otherwise. */
  private async findException(
    manager: EntityManager,
    id: string,
    principal: Principal,
    lock: boolean,
  ): Promise<ExceptionRow> {
    const [row]: ExceptionRow[] = await manager.query(
      `SELECT id, kind, status, account_no, institution_id, direction, amount_fen, line_id,
              proposed_by, proposal_reason
       FROM reconciliation_exceptions WHERE id = $1 AND district_id = $2 ${lock ? 'FOR UPDATE' : ''}`,
      [id, principal.districtId ?? null],
    );
    if (!row) {
      throw reconciliationError(
        ReconciliationErrorCode.RECONCILIATION_EXCEPTION_NOT_FOUND,
        'No reconciliation exception with this id in your district.',
      );
    }
    return row;
  }
}
