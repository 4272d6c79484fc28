/**
 * The data of the reconciliation jobs and the module's settings. The queue and job names are in
 * src/queues/queues.ts (QueueName.Reconciliation, JobName).
 */
import type { StatementFormat } from '../bank/bank-gateway';

export interface MatchAccountJob {
  accountNo: string;
  statementId: string;
}

export interface FetchStatementsJob {
  /** China date; default yesterday. */
  day?: string;
}

export interface ReconciliationOptions {
  /** Days an amount + date + counterparty match may be apart (bank booking vs ledger). */
  toleranceDays: number;
  /** When the daily fetch runs: cron in China time, after the bank's end of day. */
  fetchCron: string;
  /** The format asked of the bank by the daily fetch. */
  fetchFormat: StatementFormat;
  /** Largest statement file accepted over HTTP. */
  maxBodyBytes: number;
  /** How often statements whose matching job was lost are handed to the queue again. */
  sweepEveryMs: number;
}

export const RECONCILIATION_OPTIONS = Symbol('RECONCILIATION_OPTIONS');

export const DEFAULT_RECONCILIATION_OPTIONS: ReconciliationOptions = {
  toleranceDays: 2,
  fetchCron: '30 6 * * *',
  fetchFormat: 'camt053',
  // A camt.053 entry takes about 1.1 KB: 128 MiB holds a day of some 110,000 movements.
  maxBodyBytes: 128 * 1024 * 1024,
  sweepEveryMs: 5 * 60_000,
};
