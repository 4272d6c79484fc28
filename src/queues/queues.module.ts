import { BullModule, getQueueToken } from '@nestjs/bull';
import { Global, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bull';
import { APP_CONFIG, AppConfig } from '../config/config';
import { ALL_QUEUES, DEFAULT_JOB_OPTIONS } from './queues';

@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        url: config.redisUrl,
        prefix: config.queuePrefix,
        defaultJobOptions: {
          ...DEFAULT_JOB_OPTIONS,
          backoff: { type: 'exponential', delay: config.queueBackoffMs },
        },
      }),
    }),
    BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name }))),
  ],
  exports: [BullModule],
})
export class QueuesModule implements OnModuleInit {
  private readonly logger = new Logger(QueuesModule.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * With QUEUE_WORKERS=off this process only adds jobs: its own workers are paused (locally:
   * the queues stay open to other processes), and `npm run worker` processes run them. A job
   * one took in the moment before the pause is finished first, as correct wherever it runs.
   */
  async onModuleInit(): Promise<void> {
    if (this.config.queueWorkers) return;
    await Promise.all(
      ALL_QUEUES.map((name) =>
        this.moduleRef.get<Queue>(getQueueToken(name), { strict: false }).pause(true),
      ),
    );
    this.logger.log('queue workers are off in this process (QUEUE_WORKERS=off)');
  }
}
