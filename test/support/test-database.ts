/** Names and creates the throwaway database and Redis prefix of one test run. */
import { randomBytes } from 'node:crypto';

export function testRunId(): string {
  return `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** Same server as the configured database, but a database of the run's own. */
export function testDatabaseUrl(baseUrl: string, runId: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/escrow_ledger_test_${runId}`;
  return url.toString();
}
