/** Names and creates the throwaway database and Redis prefix of one test run. */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/config';

export function testRunId(): string {
  return `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** Same server as the configured database, but a database of the run's own. */
export function testDatabaseUrl(baseUrl: string, runId: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/escrow_ledger_test_${runId}`;
  return url.toString();
}

/** A database of a test's own next to the run's (its name plus `label` and a random suffix). */
export function throwawayDatabaseUrl(label: string): string {
  const url = new URL(loadConfig(process.env).config.databaseUrl);
  url.pathname = `${url.pathname}_${label}_${randomBytes(3).toString('hex')}`;
  return url.toString();
}
