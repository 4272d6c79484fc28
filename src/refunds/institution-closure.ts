/**
 * Closure (DESIGN.md §5 flow 5, RULES R-REF-06/07): when an operator closes an institution, every
 * open order's remainder is refunded in full through the queue, in the closing transaction; any
 * refund still awaiting a decision is approved. Progress is visible to auditors and operators.
 */
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Principal } from '../auth/principal';
import { BankInstructionsService } from '../bank/bank-instructions.service';
import { toFen } from '../common/money/fen';
import {
  InstitutionClosureHooks,
  InstitutionClosed,
} from '../institutions/institution-closure-hooks';
import { InstitutionErrorCode, institutionError } from '../institutions/institutions.errors';
import { LedgerService } from '../ledger/ledger.service';
import { Order } from '../orders/entities/order.entity';
import { Refund } from './refund.entity';
import { RefundWorkflow } from './refund-workflow';

interface Tally {
  count: number;
  amountFen: number;
}

export interface ClosureProgress {
  institutionId: string;
  closedAt: string;
  closedBy: string;
  reason: string;
  ordersRefunded: number;
  requested: Tally;
  paid: Tally;
  paying: Tally;
  failed: Tally;
  custodyCashFen: number;
}

@Injectable()
export class InstitutionClosure implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly hooks: InstitutionClosureHooks,
    private readonly workflow: RefundWorkflow,
    private readonly instructions: BankInstructionsService,
    private readonly ledger: LedgerService,
  ) {}

  onModuleInit(): void {
    this.hooks.register((manager, closed) => this.refundOpenOrders(manager, closed));
  }

  private async refundOpenOrders(
    manager: EntityManager,
    closed: InstitutionClosed,
  ): Promise<() => Promise<void>> {
    const instructionIds: string[] = [];
    const undecided = await manager
      .createQueryBuilder(Refund, 'r')
      .setLock('pessimistic_write')
      .where(`r.institution_id = :id AND r.status IN ('requested', 'rejected')`, {
        id: closed.institutionId,
      })
      .orderBy('r.id')
      .getMany();
    for (const refund of undecided) {
      instructionIds.push(await this.workflow.approve(manager, refund, 'automatic', closed.actor));
    }
    const orders = await manager
      .createQueryBuilder(Order, 'o')
      .setLock('pessimistic_write')
      .where(`o.institution_id = :id AND o.status = 'active'`, { id: closed.institutionId })
      .orderBy('o.id')
      .getMany();
    for (const order of orders) {
      const escrow = await this.ledger.balance(manager, order.escrowAccountId);
      if (escrow.availableFen <= 0) continue;
      const { instructionId } = await this.workflow.open(manager, {
        order,
        reason: 'closure',
        note: closed.reason,
        actor: closed.actor,
        approveAs: 'automatic',
      });
      instructionIds.push(instructionId!);
    }
    return () => this.instructions.enqueue(instructionIds);
  }

  async progress(principal: Principal, institutionId: string): Promise<ClosureProgress> {
    const [row]: {
      closed_at: Date;
      closed_by: string;
      reason: string;
      orders_refunded: number;
      requested_n: number;
      requested_fen: string;
      paid_n: number;
      paid_fen: string;
      failed_n: number;
      failed_fen: string;
      paying_n: number;
      paying_fen: string;
      custody_fen: string;
    }[] = await this.dataSource.query(
      `SELECT c.closed_at, c.closed_by, c.reason,
              count(DISTINCT r.order_id)::int AS orders_refunded,
              count(r.id)::int AS requested_n, coalesce(sum(r.amount_fen), 0) AS requested_fen,
              count(r.id) FILTER (WHERE r.status = 'paid')::int AS paid_n,
              coalesce(sum(r.amount_fen) FILTER (WHERE r.status = 'paid'), 0) AS paid_fen,
              count(r.id) FILTER (WHERE r.status = 'failed')::int AS failed_n,
              coalesce(sum(r.amount_fen) FILTER (WHERE r.status = 'failed'), 0) AS failed_fen,
              count(r.id) FILTER (WHERE r.status = 'approved')::int AS paying_n,
              coalesce(sum(r.amount_fen) FILTER (WHERE r.status = 'approved'), 0) AS paying_fen,
              (SELECT posted_debits - posted_credits FROM ledger_accounts
               WHERE institution_id = c.institution_id AND code = 'custody_cash') AS custody_fen
       FROM institution_closures c
       JOIN institutions i ON i.id = c.institution_id
       LEFT JOIN refunds r ON r.institution_id = c.institution_id
         AND r.approved_via = 'automatic'
       WHERE c.institution_id = $1 AND i.district_id = $2
       GROUP BY c.institution_id, c.closed_at, c.closed_by, c.reason`,
      [institutionId, principal.districtId],
    );
    if (!row) {
      throw institutionError(
        InstitutionErrorCode.INSTITUTION_NOT_FOUND,
        'No closed institution with this id in your district.',
      );
    }
    const tally = (n: number, fen: string): Tally => ({ count: n, amountFen: toFen(fen) });
    return {
      institutionId,
      closedAt: row.closed_at.toISOString(),
      closedBy: row.closed_by,
      reason: row.reason,
      ordersRefunded: row.orders_refunded,
      requested: tally(row.requested_n, row.requested_fen),
      paid: tally(row.paid_n, row.paid_fen),
      paying: tally(row.paying_n, row.paying_fen),
      failed: tally(row.failed_n, row.failed_fen),
      custodyCashFen: toFen(row.custody_fen),
    };
  }
}
