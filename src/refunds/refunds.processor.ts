import { InjectQueue, Process, Processor } from '@nestjs/bull';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bull';
import { APP_CONFIG, AppConfig } from '../config/config';
import { JobName, QueueName } from '../queues/queues';
import { ApproveSilentRefunds } from './approve-silent-refunds.usecase';

/** Hourly: refunds the institution left unanswered past their deadline count as approved. */
@Injectable()
@Processor(QueueName.Payouts)
export class RefundsProcessor implements OnApplicationBootstrap {
  constructor(
    private readonly approveSilentRefunds: ApproveSilentRefunds,
    @InjectQueue(QueueName.Payouts) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.nodeEnv === 'test') return; // tests call the use case with their own clock
    await this.queue.add(
      JobName.ApproveSilentRefunds,
      {},
      {
        jobId: JobName.ApproveSilentRefunds,
        repeat: { cron: '5 * * * *', tz: 'Asia/Shanghai' },
        attempts: 3,
      },
    );
  }

  @Process(JobName.ApproveSilentRefunds)
  run(): Promise<number> {
    return this.approveSilentRefunds.run();
  }
}
