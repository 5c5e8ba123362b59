import type { Db as IDatabase } from 'pg-boss';

export interface QueryResult<T> {
  rows: T[];
}

/** Anything that runs one parameterised statement: the database, or an open transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** The same connection as pg-boss wants it, so a job can be enqueued inside our transaction. */
  readonly boss: IDatabase;
}

/** PostgreSQL or the embedded PGlite, behind the few operations Kodah needs. */
export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}
