import { loadConfig } from '../../src/config/config';
import { prepareDatabase } from '../../src/database/migrate';
import { testDatabaseUrl, testRunId } from './test-database';

/** Creates the run's own database from the migrations; workers inherit these variables. */
export default async function globalSetup(): Promise<void> {
  const runId = testRunId();
  const base = loadConfig(process.env).config.databaseUrl;
  process.env.NODE_ENV = 'test';
  process.env.DATABASE_URL = testDatabaseUrl(base, runId);
  process.env.QUEUE_PREFIX = `escrow_test_${runId}`;
  await prepareDatabase({ databaseUrl: process.env.DATABASE_URL });
}
