import { loadConfig } from '../../src/config/config';
import { dropDatabase } from '../../src/database/ensure-database';
import { dropQueueKeys } from '../../src/queues/drop-queue-keys';

/** Drops the run's database and its Redis keys; a developer's own data is never touched. */
export default async function globalTeardown(): Promise<void> {
  const { config } = loadConfig(process.env);
  if (!/escrow_ledger_test_/.test(config.databaseUrl)) return;
  await dropDatabase(config.databaseUrl);
  await dropQueueKeys(config.redisUrl, config.queuePrefix);
}
