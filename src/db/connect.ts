import type { Config } from '../config.js';
import { connectPglite } from './connect-pglite.js';
import { connectPostgres } from './connect-postgres.js';
import type { Database } from './database.js';

/** PostgreSQL when DATABASE_URL is set, the embedded PGlite under the data folder otherwise. */
export function connectDatabase(config: Pick<Config, 'databaseUrl' | 'databasePoolMax' | 'dataDir'>): Promise<Database> {
  return config.databaseUrl ? Promise.resolve(connectPostgres(config.databaseUrl, config.databasePoolMax)) : connectPglite(config.dataDir);
}
