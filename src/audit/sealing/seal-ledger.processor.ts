import { InjectQueue, Process, Processor } from '@nestjs/bull';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { JobName, QueueName, HOUSEKEEPING_JOB_OPTIONS } from '../../queues/queues';
import { SealLedger, SealSummary } from './seal-ledger';
import { SEALING_CONFIG, SealingConfig } from './sealing.config';

/** The job carries nothing: each run seals whatever has become final since the last one. */
export type SealLedgerJob = Record<string, never>;

/** Fixed, so that every start of every process registers the same repeatable job once. */
export const SEAL_LEDGER_JOB_ID = 'seal-ledger';

@Injectable()
@Processor(QueueName.Audit)
export class SealLedgerProcessor {
  constructor(private readonly sealLedger: SealLedger) {}

  @Process(JobName.SealLedger)
  sealLedgerJob(_job: Job<SealLedgerJob>): Promise<SealSummary> {
    return this.sealLedger.run();
  }
}

/** Registers the repeatable run at start; tests call SealLedger.run themselves. */
@Injectable()
export class SealLedgerSchedule implements OnApplicationBootstrap {
  private readonly logger = new Logger(SealLedgerSchedule.name);

  constructor(
    @InjectQueue(QueueName.Audit) private readonly queue: Queue<SealLedgerJob>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(SEALING_CONFIG) private readonly sealing: SealingConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.nodeEnv === 'test') return;
    // Not awaited: a slow Redis must not hold up the start; the health check reports it.
    this.queue
      .add(
        JobName.SealLedger,
        {},
        {
          jobId: SEAL_LEDGER_JOB_ID,
          repeat: { every: this.sealing.everyMs },
          // A run that fails is retried by the next one.
          ...HOUSEKEEPING_JOB_OPTIONS,
        },
      )
      .catch((error: unknown) =>
        this.logger.error({ err: error }, 'could not schedule ledger sealing'),
      );
  }
}
