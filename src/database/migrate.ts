import { DataSource } from 'typeorm';
import { AppConfig } from '../config/config';
import { dataSourceOptions } from './data-source';
import { ensureDatabase } from './ensure-database';

/** Creates the database when missing and applies every pending migration. */
export async function prepareDatabase(config: Pick<AppConfig, 'databaseUrl'>): Promise<string[]> {
  await ensureDatabase(config.databaseUrl);
  const dataSource = new DataSource({ ...dataSourceOptions(config), entities: [] });
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}
