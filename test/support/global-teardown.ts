import Redis from 'ioredis';
import { loadConfig } from '../../src/config/config';
import { dropDatabase } from '../../src/database/ensure-database';

/** Drops the run's database and its Redis keys; a developer's own data is never touched. */
export default async function globalTeardown(): Promise<void> {
  const { config } = loadConfig(process.env);
  if (!/escrow_ledger_test_/.test(config.databaseUrl)) return;
  await dropDatabase(config.databaseUrl);
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${config.queuePrefix}*`,
        'COUNT',
        500,
      );
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
