import { InjectQueue, Process, Processor } from '@nestjs/bull';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bull';
import { APP_CONFIG, AppConfig } from '../config/config';
import { JobName, QueueName } from '../queues/queues';
import { RunSettlements } from './run-settlements.usecase';

/** The daily settlement run (SETTLEMENT_CRON, China time). */
@Injectable()
@Processor(QueueName.Payouts)
export class SettlementsProcessor implements OnApplicationBootstrap {
  constructor(
    private readonly runSettlements: RunSettlements,
    @InjectQueue(QueueName.Payouts) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.nodeEnv === 'test') return; // tests run settlements explicitly
    await this.queue.add(
      JobName.RunSettlements,
      {},
      {
        jobId: JobName.RunSettlements,
        repeat: { cron: this.config.settlementCron, tz: 'Asia/Shanghai' },
        attempts: 3,
      },
    );
  }

  @Process(JobName.RunSettlements)
  async run(): Promise<number> {
    return (await this.runSettlements.execute({ actor: 'system' })).length;
  }
}
