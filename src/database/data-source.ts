/**
 * The one TypeORM data source definition, shared by the application and the migration CLI.
 * The schema changes only through migrations: `synchronize` is off everywhere.
 */
import { join } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/config';
import { SnakeNamingStrategy } from './snake-naming.strategy';

const root = join(__dirname, '..', '..');

export function dataSourceOptions(config: Pick<AppConfig, 'databaseUrl'>): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.databaseUrl,
    entities: [join(root, 'src', '**', '*.entity.{ts,js}')],
    migrations: [join(root, 'migrations', '*.{ts,js}')],
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: { max: 20, application_name: 'escrow-ledger' },
  };
}
