/** The data source for the TypeORM CLI (`npm run migration:revert`, `migration:generate`). */
import { DataSource } from 'typeorm';
import { loadConfigOrExit } from '../config/config';
import { dataSourceOptions } from './data-source';

export default new DataSource(dataSourceOptions(loadConfigOrExit()));
