import { InjectQueue, Process, Processor } from '@nestjs/bull';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Job, Queue } from 'bull';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/config';
import { JobName, QueueName } from '../queues/queues';
import { FetchReport, FetchStatements } from './fetch-statements.usecase';
import { MatchAccount, MatchSummary } from './match-account.usecase';
import {
  FetchStatementsJob,
  MatchAccountJob,
  RECONCILIATION_OPTIONS,
  ReconciliationOptions,
} from './reconciliation.constants';

/**
 * Matching after each import; the daily fetch of yesterday's statements (China time); and a
 * sweeper that hands the queue statements whose matching job Redis lost.
 */
@Injectable()
@Processor(QueueName.Reconciliation)
export class ReconciliationProcessor implements OnApplicationBootstrap {
  constructor(
    private readonly matchAccount: MatchAccount,
    private readonly fetchStatements: FetchStatements,
    @InjectQueue(QueueName.Reconciliation) private readonly queue: Queue,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RECONCILIATION_OPTIONS) private readonly options: ReconciliationOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.nodeEnv === 'test') return; // tests drive fetching and sweeping themselves
    await this.queue.add(
      JobName.FetchStatements,
      {},
      {
        jobId: JobName.FetchStatements,
        repeat: { cron: this.options.fetchCron, tz: 'Asia/Shanghai' },
      },
    );
    await this.queue.add(
      JobName.SweepStatements,
      {},
      {
        jobId: JobName.SweepStatements,
        repeat: { every: this.options.sweepEveryMs },
        attempts: 1,
      },
    );
  }

  @Process(JobName.MatchAccount)
  async match(job: Job<MatchAccountJob>): Promise<MatchSummary | undefined> {
    return this.matchAccount.execute(job.data.accountNo);
  }

  @Process(JobName.FetchStatements)
  fetch(job: Job<FetchStatementsJob>): Promise<FetchReport> {
    return this.fetchStatements.execute({ day: job.data.day });
  }

  /** Statements imported over a minute ago and never matched go back to the queue. */
  @Process(JobName.SweepStatements)
  async sweep(): Promise<number> {
    const rows: { id: string; account_no: string }[] = await this.dataSource.query(
      `SELECT id, account_no FROM reconciliation_statements
       WHERE matched_at IS NULL AND imported_at < now() - interval '1 minute'
       ORDER BY imported_at LIMIT 500`,
    );
    let handed = 0;
    for (const row of rows) {
      const jobId = `match:${row.id}`;
      const existing = await this.queue.getJob(jobId);
      const state = existing ? await existing.getState() : undefined;
      if (state === 'waiting' || state === 'active' || state === 'delayed') continue;
      await existing?.remove();
      await this.queue.add(
        JobName.MatchAccount,
        { accountNo: row.account_no, statementId: row.id },
        { jobId },
      );
      handed += 1;
    }
    return handed;
  }
}
