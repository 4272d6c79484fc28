/**
 * Queue names, job names and job options in one place. A job's id is its business key
 * (`refund:<id>`), so enqueuing the same work twice is a no-op.
 */
import type { JobOptions } from 'bull';

export enum QueueName {
  /** Housekeeping used by tests and health checks. */
  System = 'system',
  /** Lesson housekeeping: auto-confirmation. */
  Lessons = 'lessons',
  /** Sealing the ledger into hash-chained blocks. */
  Audit = 'audit',
  /** Transfer instructions to the custody bank (the outbox), and their sweeper. */
  BankInstructions = 'bank-instructions',
  /** Daily settlement batches and refund deadlines. */
  Payouts = 'payouts',
  /** Matching bank statements, their daily fetch, and the sweeper of lost matching jobs. */
  Reconciliation = 'reconciliation',
}

export enum JobName {
  Echo = 'echo',
  AutoConfirmLessons = 'auto-confirm-lessons',
  SealLedger = 'seal-ledger',
  SubmitInstruction = 'submit-instruction',
  SweepInstructions = 'sweep-instructions',
  RunSettlements = 'run-settlements',
  ApproveSilentRefunds = 'approve-silent-refunds',
  /** Match every open line of one custody account, then re-evaluate its days. */
  MatchAccount = 'match-account',
  /** Fetch yesterday's statement of every custody account from the bank (daily). */
  FetchStatements = 'fetch-statements',
  /** Hand the queue statements whose matching job was lost (every few minutes). */
  SweepStatements = 'sweep-statements',
}

/** Retries with exponential backoff: 2 s, 4 s, 8 s … about 8.5 minutes in all (QUEUE_BACKOFF_MS sets the first delay). */
export const DEFAULT_JOB_OPTIONS: JobOptions = {
  attempts: 9,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: 1_000,
  removeOnFail: false,
};

/** Housekeeping that the next run repeats anyway: one attempt, little kept in Redis. */
export const HOUSEKEEPING_JOB_OPTIONS: JobOptions = {
  attempts: 1,
  removeOnComplete: 100,
  removeOnFail: 100,
};

export const ALL_QUEUES: QueueName[] = Object.values(QueueName);

/** A job error that retrying cannot fix: processors throw it to stop the retries. */
export class PermanentJobError extends Error {}
