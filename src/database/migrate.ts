import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/config';
import { dataSourceOptions } from './data-source';
import { ensureDatabase } from './ensure-database';

/** Session advisory lock key held while migrating ("escrow-ledger migrations", any fixed key). */
const MIGRATION_LOCK = 7_391_024_611;

/**
 * Creates the database when missing and applies every pending migration. Processes starting
 * together (the API, its workers, replicas) take turns under an advisory lock: the first applies
 * the migrations, the others then find none pending. Returns the names this call applied.
 */
export async function prepareDatabase(config: Pick<AppConfig, 'databaseUrl'>): Promise<string[]> {
  await ensureDatabase(config.databaseUrl);
  const lock = new Client({ connectionString: config.databaseUrl });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const dataSource = new DataSource({ ...dataSourceOptions(config), entities: [] });
    await dataSource.initialize();
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await dataSource.destroy();
    }
  } finally {
    // Ending the session releases the lock, also when a migration failed.
    await lock.end();
  }
}
