import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/config';
import { dataSourceOptions } from '../../src/database/data-source';

/** A data source on the run's database, with a pool wide enough for the concurrency tests. */
export async function openTestDataSource(poolSize = 60): Promise<DataSource> {
  const options = dataSourceOptions(loadConfig(process.env).config);
  const dataSource = new DataSource({ ...options, extra: { ...options.extra, max: poolSize } });
  return dataSource.initialize();
}
