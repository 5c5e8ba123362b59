import pg from 'pg';
import type { Db as IDatabase } from 'pg-boss';
import type { Database, Queryable } from './database.js';

function asBossDb(client: pg.Pool | pg.PoolClient): IDatabase {
  return { executeSql: (text, values) => client.query(text, values as unknown[]) };
}

/** A pooled PostgreSQL connection shared by every process that points at the same URL. */
export function connectPostgres(url: string, poolMax: number): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    application_name: 'kodah',
    // An unreachable database fails a request (and /healthz) in seconds instead of hanging it.
    connectionTimeoutMillis: 5_000,
    statement_timeout: 30_000,
  });
  // An idle client that loses its connection emits here; the pool replaces it, so log nothing fatal.
  pool.on('error', () => {});
  return {
    kind: 'postgres',
    boss: asBossDb(pool),
    query: (sql, params) => pool.query(sql, params) as never,
    async exec(sql) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      const tx: Queryable = { boss: asBossDb(client), query: (sql, params) => client.query(sql, params) as never };
      try {
        await client.query('BEGIN');
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
