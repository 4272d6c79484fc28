/**
 * The steps every refund goes through, whoever starts it (a parent, an operator, a dispute, a
 * closure): hold the money, approve (post the hold and instruct the bank to pay the payer's
 * original account) or decline (void the hold), and follow the bank's answer.
 */
import { Injectable, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { BankInstructionsService } from '../bank/bank-instructions.service';
import { BankInstruction } from '../bank/entities/bank-instruction.entity';
import { addDays } from '../calendar/dates';
import { CalendarService } from '../calendar/calendar.service';
import { chinaDate } from '../common/time/china-date';
import { DistrictPolicyService } from '../institutions/district-policy.service';
import { LedgerService } from '../ledger/ledger.service';
import { Order } from '../orders/entities/order.entity';
import { ApprovedVia, Refund, RefundReason } from './refund.entity';
import { RefundErrorCode, refundError } from './refunds.errors';

export interface OpenRefund {
  order: Order;
  reason: RefundReason;
  note?: string;
  actor: string;
  /** Default: everything refundable (DESIGN.md rule 11). */
  amountFen?: number;
  /** Approve at once (operators, closure, disputes, over-cap money). */
  approveAs?: ApprovedVia;
}

/** Locks an order for a refund decision; callers scope `where` to their principal. */
export async function lockOrder(
  manager: EntityManager,
  orderId: string,
  scope: { where: string; params: Record<string, unknown> },
): Promise<Order | null> {
  return manager
    .createQueryBuilder(Order, 'o')
    .setLock('pessimistic_write')
    .where(`o.id = :orderId AND ${scope.where}`, { orderId, ...scope.params })
    .getOne();
}

@Injectable()
export class RefundWorkflow implements OnModuleInit {
  constructor(
    private readonly ledger: LedgerService,
    private readonly instructions: BankInstructionsService,
    private readonly calendar: CalendarService,
    private readonly policies: DistrictPolicyService,
  ) {}

  onModuleInit(): void {
    this.instructions.registerHandler('refund', {
      succeeded: (manager, instruction) => this.settle(manager, instruction, 'paid'),
      failed: (manager, instruction) => this.settle(manager, instruction, 'failed'),
      retried: async (manager, _failed, retry) => {
        await manager.update(Refund, retry.subjectId, {
          status: 'approved',
          instructionId: retry.id,
        });
      },
    });
  }

  /**
   * Opens a refund on a locked order and holds its amount. Returns the refund and, when approved
   * at once, the instruction to enqueue after commit.
   */
  async open(
    manager: EntityManager,
    input: OpenRefund,
  ): Promise<{ refund: Refund; instructionId?: string }> {
    const { order } = input;
    if (order.status !== 'active') {
      throw refundError(
        RefundErrorCode.ORDER_NOT_REFUNDABLE,
        order.status === 'pending_payment'
          ? 'The order has not been paid; there is nothing to refund.'
          : `The order is ${order.status}.`,
      );
    }
    const [open]: { id: string }[] = await manager.query(
      `SELECT id FROM refunds WHERE order_id = $1 AND status IN ('requested', 'rejected')`,
      [order.id],
    );
    if (open) {
      throw refundError(
        RefundErrorCode.REFUND_ALREADY_OPEN,
        'This order already has a refund being decided.',
        { refundId: open.id },
      );
    }
    const escrow = await this.ledger.balance(manager, order.escrowAccountId);
    const amountFen = input.amountFen ?? escrow.availableFen;
    if (amountFen <= 0 || amountFen > escrow.availableFen) {
      throw refundError(
        RefundErrorCode.NOTHING_TO_REFUND,
        `Refundable now: ${escrow.availableFen} fen (paid, less released, held and refunded).`,
        { refundableFen: escrow.availableFen },
      );
    }
    const id = randomUUID();
    const accounts = await this.ledger.institutionAccounts(manager, order.institutionId);
    const holdTransactionId = await this.ledger.hold(manager, {
      kind: 'refund_requested',
      reference: `refund:${id}:hold`,
      institutionId: order.institutionId,
      metadata: { refundId: id, orderId: order.id, reason: input.reason },
      transfers: [
        {
          debitAccountId: order.escrowAccountId,
          creditAccountId: accounts.refund_payable,
          amountFen,
        },
      ],
    });
    const { respondBy, dueOn } = await this.deadlines(manager, order);
    const refund = await manager.save(
      manager.create(Refund, {
        id,
        orderId: order.id,
        institutionId: order.institutionId,
        districtId: order.districtId,
        parentId: order.parentId,
        reason: input.reason,
        note: input.note ?? null,
        amountFen,
        status: 'requested',
        requestedBy: input.actor,
        requestedAt: new Date(),
        respondBy,
        dueOn,
        holdTransactionId,
      }),
    );
    if (!input.approveAs) return { refund };
    const instructionId = await this.approve(manager, refund, input.approveAs, input.actor);
    return { refund, instructionId };
  }

  /** Posts the held amount to refund_payable and instructs the bank; returns the instruction id. */
  async approve(
    manager: EntityManager,
    refund: Refund,
    via: ApprovedVia,
    actor: string,
  ): Promise<string> {
    const approvalTransactionId = await this.ledger.postPending(manager, {
      pendingId: refund.holdTransactionId!,
      kind: 'refund_approved',
      reference: `refund:${refund.id}:approve`,
      metadata: { refundId: refund.id, via },
    });
    const [payer]: { bank_code: string; account_no: string; account_name: string }[] =
      await manager.query(
        `SELECT payer_bank_code AS bank_code, payer_account_no AS account_no,
                payer_account_name AS account_name
         FROM orders WHERE id = $1`,
        [refund.orderId],
      );
    const instruction = await this.instructions.create(manager, {
      purpose: 'refund',
      subjectId: refund.id,
      institutionId: refund.institutionId,
      // Back to the account the money came from (RULES R-REF-05).
      to: {
        bankCode: payer.bank_code,
        accountNo: payer.account_no,
        accountName: payer.account_name,
      },
      amountFen: refund.amountFen,
      createdBy: actor,
    });
    Object.assign(refund, {
      status: 'approved',
      approvedVia: via,
      decidedBy: actor,
      decidedAt: new Date(),
      approvalTransactionId,
      instructionId: instruction.id,
    });
    await manager.save(refund);
    return instruction.id;
  }

  /** A final no: the held amount returns to the order's refundable balance. */
  async decline(
    manager: EntityManager,
    refund: Refund,
    actor: string,
    note: string,
  ): Promise<void> {
    await this.ledger.voidPending(manager, {
      pendingId: refund.holdTransactionId!,
      kind: 'refund_declined',
      reference: `refund:${refund.id}:void`,
      metadata: { refundId: refund.id },
    });
    Object.assign(refund, {
      status: 'declined',
      decidedBy: actor,
      decidedAt: new Date(),
      operatorNote: note,
    });
    await manager.save(refund);
  }

  /**
   * DESIGN.md rules 13–14: the institution answers within N working days (district policy);
   * the money is due 5 working days after the request before the course starts, 15 days after.
   */
  private async deadlines(manager: EntityManager, order: Order) {
    const today = chinaDate();
    const policy = await this.policies.get(manager, order.districtId);
    const respondBy = await this.calendar.addWorkingDays(
      manager,
      order.districtId,
      today,
      policy.refundSilenceWorkingDays,
    );
    const dueOn =
      today < order.firstLessonOn
        ? await this.calendar.addWorkingDays(manager, order.districtId, today, 5)
        : addDays(today, 15);
    return { respondBy, dueOn };
  }

  private async settle(
    manager: EntityManager,
    instruction: BankInstruction,
    status: 'paid' | 'failed',
  ): Promise<void> {
    await manager.update(Refund, instruction.subjectId, {
      status,
      paidAt: status === 'paid' ? new Date() : null,
    });
  }
}
