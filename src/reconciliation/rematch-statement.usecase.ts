/** An operator asks for a statement's account to be matched again (the worker does it). */
import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';
import type { Principal } from '../auth/principal';
import { JobName, QueueName } from '../queues/queues';
import { ReconciliationReports } from './reconciliation-reports.service';
import { MatchAccountJob } from './reconciliation.constants';

@Injectable()
export class RematchStatement {
  constructor(
    private readonly reports: ReconciliationReports,
    @InjectQueue(QueueName.Reconciliation) private readonly queue: Queue<MatchAccountJob>,
  ) {}

  async execute(
    principal: Principal,
    statementId: string,
  ): Promise<{ statementId: string; status: 'queued' }> {
    const statement = await this.reports.findStatement(principal, statementId);
    await this.queue.add(
      JobName.MatchAccount,
      { accountNo: statement.account_no, statementId },
      // A new run each time it is asked for; runs of one account never overlap (account lock).
      { jobId: `rematch:${statementId}:${Date.now()}` },
    );
    return { statementId, status: 'queued' };
  }
}
