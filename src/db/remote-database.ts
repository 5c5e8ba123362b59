import { createConnection, type Socket } from 'node:net';
import type { Db as IDatabase } from 'pg-boss';
import { z } from 'zod';
import type { Database, Queryable, QueryResult } from './database.js';
import type { WireError } from './serve-database.js';
import { encodeFrame, frameReader } from './wire-frames.js';

const answerSchema = z.union([
  z.object({ id: z.number(), rows: z.array(z.unknown()) }),
  z.object({
    id: z.number(),
    error: z.object({
      message: z.string(),
      code: z.string().optional(),
      detail: z.string().optional(),
      hint: z.string().optional(),
      constraint: z.string().optional(),
      table: z.string().optional(),
      column: z.string().optional(),
    }),
  }),
]);

/** A database error from the serving process, with the fields a pg error carries (code, detail…). */
export class RemoteDatabaseError extends Error {
  readonly code?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly constraint?: string;
  readonly table?: string;
  readonly column?: string;
  constructor(e: WireError) {
    super(e.message);
    this.name = 'RemoteDatabaseError';
    Object.assign(this, { code: e.code, detail: e.detail, hint: e.hint, constraint: e.constraint, table: e.table, column: e.column });
  }
}

function connect(socketPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * The embedded database of another Kodah process, through its operator socket (serve-database.ts):
 * the same Database, one session. As with PGlite itself, a transaction holds the session: calls
 * made outside it wait until it ends.
 */
export async function connectRemoteDatabase(socketPath: string): Promise<Database> {
  const socket = await connect(socketPath);
  const waiting = new Map<number, { resolve: (rows: unknown[]) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let lost: Error | null = null;
  const fail = (err: Error) => {
    lost ??= err;
    for (const w of waiting.values()) w.reject(lost);
    waiting.clear();
    socket.destroy();
  };
  socket.on(
    'data',
    frameReader(
      (value) => {
        const answer = answerSchema.safeParse(value);
        if (!answer.success) return fail(new Error('the Kodah server answered something that is not a database answer'));
        const w = waiting.get(answer.data.id);
        if (!w) return;
        waiting.delete(answer.data.id);
        if ('error' in answer.data) w.reject(new RemoteDatabaseError(answer.data.error));
        else w.resolve(answer.data.rows);
      },
      (err) => fail(err),
    ),
  );
  socket.on('error', (err) => fail(new Error(`connection to the Kodah server's database lost: ${err.message}`)));
  socket.on('close', () => fail(new Error('the Kodah server closed the connection to its database (did it stop?)')));

  const send = (op: string, sql?: string, params?: unknown[]): Promise<unknown[]> => {
    if (lost) return Promise.reject(lost);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      socket.write(encodeFrame({ id, op, sql, params }));
    });
  };
  const queryable = (): Queryable => ({
    query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await send('query', sql, params)) as T[] }) as QueryResult<T>,
    boss: { executeSql: async (sql, values) => ({ rows: await send('boss', sql, values as unknown[] | undefined) }) } as IDatabase,
  });
  const inside = queryable();

  // Calls outside a transaction wait for it: the server would run them inside it otherwise.
  let free: Promise<void> = Promise.resolve();
  const outside = async <T>(fn: () => Promise<T>): Promise<T> => {
    await free;
    return fn();
  };

  return {
    kind: 'pglite',
    query: (sql, params) => outside(() => inside.query(sql, params)),
    boss: { executeSql: (sql, values) => outside(() => inside.boss.executeSql(sql, values)) } as IDatabase,
    exec: (sql) => outside(async () => void (await send('exec', sql))),
    async transaction(fn) {
      const before = free;
      let release!: () => void;
      free = new Promise((resolve) => (release = resolve));
      try {
        await before;
        await send('begin');
        let result;
        try {
          result = await fn(inside);
        } catch (err) {
          await send('rollback').catch(() => {});
          throw err;
        }
        await send('commit');
        return result;
      } finally {
        release();
      }
    },
    async close() {
      await new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        socket.end();
      });
    },
  };
}
