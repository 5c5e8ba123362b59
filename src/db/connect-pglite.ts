import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { fromPglite } from 'pg-boss';
import type { Database, Queryable } from './database.js';
import { lockDataDir } from './data-dir-lock.js';
import { operatorSocketPath, serveDatabase } from './serve-database.js';

/**
 * The embedded database: PostgreSQL in WASM, one connection, one process. The data folder is
 * locked so that a second process cannot open it and corrupt it; the holder serves it to the
 * operator commands instead, on a Unix socket in the folder (connect-operator.ts finds it).
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
  let stopServing: (() => Promise<void>) | undefined;
  const database: Database = {
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
        await stopServing?.();
        await db.close();
      } finally {
        await unlock();
      }
    },
  };
  // A path too long for a socket leaves the operator commands to say so (connect-operator.ts).
  const socketPath = operatorSocketPath(dataDir);
  try {
    stopServing = socketPath ? await serveDatabase(database, socketPath) : undefined;
  } catch (err) {
    await db.close().catch(() => {});
    await unlock();
    throw err;
  }
  return database;
}
