/**
 * DESIGN.md rule 13: a refund request the institution leaves unanswered past its deadline (N
 * working days, district policy) counts as approved.
 */
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BankInstructionsService } from '../bank/bank-instructions.service';
import { chinaDate } from '../common/time/china-date';
import { Refund } from './refund.entity';
import { RefundWorkflow } from './refund-workflow';

const BATCH = 500;

@Injectable()
export class ApproveSilentRefunds {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly workflow: RefundWorkflow,
    private readonly instructions: BankInstructionsService,
  ) {}

  /** Approves the overdue requests as of `now`; returns how many. */
  async run(now = new Date()): Promise<number> {
    const overdue: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM refunds WHERE status = 'requested' AND respond_by < $1::date
       ORDER BY respond_by LIMIT $2`,
      [chinaDate(now), BATCH],
    );
    const instructionIds: string[] = [];
    for (const { id } of overdue) {
      const instructionId = await this.dataSource.transaction(async (manager) => {
        const refund = await manager
          .createQueryBuilder(Refund, 'r')
          .setLock('pessimistic_write')
          .where('r.id = :id', { id })
          .getOne();
        // Answered meanwhile: the institution's decision stands.
        if (refund?.status !== 'requested') return undefined;
        return this.workflow.approve(manager, refund, 'silence', 'system');
      });
      if (instructionId) instructionIds.push(instructionId);
    }
    await this.instructions.enqueue(instructionIds);
    return instructionIds.length;
  }
}
