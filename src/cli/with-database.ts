import type { Config } from '../config.js';
import { connectOperatorDatabase } from '../db/connect-operator.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';

/**
 * Opens the database for a one-off operator command, migrated, and always closes it: the
 * embedded database belongs to one process at a time, so a command must not keep it open. While a
 * server holds it, the command goes through that server's operator socket (connect-operator.ts).
 */
export async function withDatabase<T>(config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await connectOperatorDatabase(config);
  try {
    // An operator may run a command before the server ever started on this database.
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}
