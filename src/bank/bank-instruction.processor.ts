import { InjectQueue, Process, Processor } from '@nestjs/bull';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { APP_CONFIG, AppConfig } from '../config/config';
import { JobName, QueueName } from '../queues/queues';
import { BankInstructionsService, SubmitInstructionJob } from './bank-instructions.service';

export const SWEEP_EVERY_MS = 30_000;

/** Submits instructions to the bank; every 30 s, re-enqueues what the queue lost. */
@Injectable()
@Processor(QueueName.BankInstructions)
export class BankInstructionProcessor implements OnApplicationBootstrap {
  constructor(
    private readonly instructions: BankInstructionsService,
    @InjectQueue(QueueName.BankInstructions) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.nodeEnv === 'test') return; // tests drive the sweeper themselves
    await this.queue.add(
      JobName.SweepInstructions,
      {},
      { jobId: JobName.SweepInstructions, repeat: { every: SWEEP_EVERY_MS }, attempts: 1 },
    );
  }

  @Process(JobName.SubmitInstruction)
  submit(job: Job<SubmitInstructionJob>): Promise<void> {
    return this.instructions.submit(job.data.instructionId);
  }

  @Process(JobName.SweepInstructions)
  sweep(): Promise<number> {
    return this.instructions.sweep();
  }
}
