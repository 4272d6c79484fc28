/**
 * Decisions on a refund request (DESIGN.md rule 13): the institution approves or rejects it; a
 * rejection goes to an operator, who approves or declines for good; silence approves.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Principal } from '../auth/principal';
import { BankInstructionsService } from '../bank/bank-instructions.service';
import { IdempotencyService, IdempotentRequest } from '../common/idempotency/idempotency.service';
import { Refund, RefundStatus } from './refund.entity';
import { RefundWorkflow } from './refund-workflow';
import { RefundErrorCode, refundError } from './refunds.errors';
import { RefundView, RefundsService } from './refunds.service';

export type RefundDecision =
  | { by: 'institution'; outcome: 'approve' }
  | { by: 'institution'; outcome: 'reject'; reason: string }
  | { by: 'operator'; outcome: 'approve' | 'decline'; note: string };

export interface DecideRefundCommand {
  principal: Principal;
  idempotency?: IdempotentRequest;
  refundId: string;
  decision: RefundDecision;
}

@Injectable()
export class DecideRefund {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly workflow: RefundWorkflow,
    private readonly instructions: BankInstructionsService,
    private readonly refunds: RefundsService,
  ) {}

  async execute(command: DecideRefundCommand): Promise<RefundView> {
    const { principal, decision } = command;
    const instructionId = await this.idempotency.execute(command.idempotency, async (manager) => {
      const refund = await this.lock(manager, command.refundId, principal);
      const awaiting: RefundStatus = decision.by === 'institution' ? 'requested' : 'rejected';
      if (refund.status !== awaiting) {
        throw refundError(
          RefundErrorCode.REFUND_NOT_PENDING_DECISION,
          `The refund is ${refund.status}; only a ${awaiting} refund awaits this decision.`,
          { refundStatus: refund.status },
        );
      }
      switch (decision.outcome) {
        case 'approve':
          if (decision.by === 'operator') refund.operatorNote = decision.note;
          return this.workflow.approve(manager, refund, decision.by, principal.sub);
        case 'reject':
          Object.assign(refund, {
            status: 'rejected',
            rejectionReason: decision.reason,
            decidedBy: principal.sub,
            decidedAt: new Date(),
          });
          await manager.save(refund);
          return null;
        case 'decline':
          await this.workflow.decline(manager, refund, principal.sub, decision.note);
          return null;
      }
    });
    if (instructionId) await this.instructions.enqueue([instructionId]);
    return this.refunds.get(principal, command.refundId);
  }

  private async lock(
    manager: EntityManager,
    refundId: string,
    principal: Principal,
  ): Promise<Refund> {
    const scope =
      principal.role === 'institution'
        ? { where: 'r.institution_id = :key', key: principal.institutionId }
        : { where: 'r.district_id = :key', key: principal.districtId };
    const refund = await manager
      .createQueryBuilder(Refund, 'r')
      .setLock('pessimistic_write')
      .where(`r.id = :refundId AND ${scope.where}`, { refundId, key: scope.key })
      .getOne();
    if (!refund) throw refundError(RefundErrorCode.REFUND_NOT_FOUND, 'No refund with this id.');
    return refund;
  }
}
