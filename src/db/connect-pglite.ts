import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { fromPglite } from 'pg-boss';
import type { Database, Queryable } from './database.js';
import { lockDataDir } from './data-dir-lock.js';

/**
 * The embedded database: PostgreSQL in WASM, one connection, one process. The data folder is
 * locked so that a second process (a CLI command while the server runs) fails with a clear
 * message instead of corrupting it.
 */
export async function connectPglite(dataDir: string): Promise<Database> {
  await mkdir(dataDir, { recursive: true });
  const unlock = await lockDataDir(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create(path.join(dataDir, 'pgdata'));
  } catch (err) {
    await unlock();
    throw err;
  }
  const boss = fromPglite(db);
  return {
    kind: 'pglite',
    boss,
    query: (sql, params) => db.query(sql, params) as never,
    async exec(sql) {
      await db.exec(sql);
    },
    transaction: (fn) =>
      db.transaction(async (t) => {
        const tx: Queryable = { boss: fromPglite(t), query: (sql, params) => t.query(sql, params) as never };
        return fn(tx);
      }),
    async close() {
      try {
        await db.close();
      } finally {
        await unlock();
      }
    },
  };
}
