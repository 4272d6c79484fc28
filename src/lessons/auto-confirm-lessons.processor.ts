import { InjectQueue, Process, Processor } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { APP_CONFIG, AppConfig } from '../config/config';
import { JobName, QueueName } from '../queues/queues';
import { AutoConfirmLessons, AutoConfirmSummary } from './usecases/auto-confirm-lessons';

/** The job carries nothing: each run judges deadlines at the moment it runs. */
export type AutoConfirmLessonsJob = Record<string, never>;

/** Fixed, so that every start of every process registers the same repeatable job once. */
export const AUTO_CONFIRM_JOB_ID = 'auto-confirm-lessons';
export const AUTO_CONFIRM_CRON = '*/10 * * * *';

@Injectable()
@Processor(QueueName.Lessons)
export class AutoConfirmLessonsProcessor {
  constructor(private readonly autoConfirm: AutoConfirmLessons) {}

  @Process(JobName.AutoConfirmLessons)
  autoConfirmLessons(_job: Job<AutoConfirmLessonsJob>): Promise<AutoConfirmSummary> {
    return this.autoConfirm.run();
  }
}

/** Registers the repeatable run at start; tests call AutoConfirmLessons.run themselves. */
@Injectable()
export class AutoConfirmLessonsSchedule implements OnApplicationBootstrap {
  private readonly logger = new Logger(AutoConfirmLessonsSchedule.name);

  constructor(
    @InjectQueue(QueueName.Lessons) private readonly queue: Queue<AutoConfirmLessonsJob>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.nodeEnv === 'test') return;
    // Not awaited: a slow Redis must not hold up the start; the health check reports it.
    this.queue
      .add(
        JobName.AutoConfirmLessons,
        {},
        { jobId: AUTO_CONFIRM_JOB_ID, repeat: { cron: AUTO_CONFIRM_CRON } },
      )
      .catch((error: unknown) =>
        this.logger.error({ err: error }, 'could not schedule auto-confirmation'),
      );
  }
}
