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
}

export enum JobName {
  Echo = 'echo',
  AutoConfirmLessons = 'auto-confirm-lessons',
  SealLedger = 'seal-ledger',
}

/** Retries with exponential backoff: 2 s, 4 s, 8 s … about 8.5 minutes in all. */
export const DEFAULT_JOB_OPTIONS: JobOptions = {
  attempts: 9,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: 1_000,
  removeOnFail: false,
};

export const ALL_QUEUES: QueueName[] = Object.values(QueueName);

/** A job error that retrying cannot fix: processors throw it to stop the retries. */
export class PermanentJobError extends Error {}
