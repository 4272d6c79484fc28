/**
 * The reconciliation queue, its jobs and the module's settings. RECONCILIATION_QUEUE moves into
 * src/queues/queues.ts (QueueName) when the module is registered in the application.
 */
import type { StatementFormat } from '../bank/bank-gateway';

export const RECONCILIATION_QUEUE = 'reconciliation';

export enum ReconciliationJob {
  /** Match every open line of one custody account, then re-evaluate its days. */
  MatchAccount = 'match-account',
  /** Fetch yesterday's statement of every custody account from the bank (daily). */
  FetchStatements = 'fetch-statements',
  /** Hand the queue statements whose matching job was lost (every few minutes). */
  SweepStatements = 'sweep-statements',
}

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
