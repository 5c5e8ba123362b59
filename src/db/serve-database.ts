import { mkdtemp, rename, rm, chmod, unlink } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import type { Database, Queryable } from './database.js';
import { encodeFrame, frameReader } from './wire-frames.js';

/** Linux keeps a Unix socket's path in 108 bytes, the terminating NUL included. */
const MAX_SOCKET_PATH = 107;
/** A client that opened a transaction and went quiet is holding every query of the server: it loses it. */
const TRANSACTION_IDLE_MS = 10_000;

/**
 * Where the process that holds an embedded database serves it to Kodah's operator commands; null
 * when the data folder's path is too long for a Unix socket.
 */
export function operatorSocketPath(dataDir: string): string | null {
  const file = path.join(dataDir, 'kodah.sock');
  // The socket is first bound in a private folder beside it (`.sXXXXXX/s`), a path of the same length.
  return Buffer.byteLength(file) <= MAX_SOCKET_PATH ? file : null;
}

export const requestSchema = z.object({
  id: z.number().int(),
  op: z.enum(['query', 'boss', 'exec', 'begin', 'commit', 'rollback']),
  sql: z.string().optional(),
  params: z.array(z.unknown()).optional(),
});
export type WireRequest = z.infer<typeof requestSchema>;

/** A database error as it crosses the socket: its message and the fields callers look at. */
export interface WireError {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  constraint?: string;
  table?: string;
  column?: string;
}

function toWireError(err: unknown): WireError {
  const e = (err ?? {}) as Record<string, unknown>;
  const pick = (k: string) => (typeof e[k] === 'string' ? (e[k] as string) : undefined);
  return {
    message: err instanceof Error ? err.message : String(err),
    code: pick('code'),
    detail: pick('detail'),
    hint: pick('hint'),
    constraint: pick('constraint'),
    table: pick('table'),
    column: pick('column'),
  };
}

class Rollback extends Error {}

/** One client's open transaction: its queries, and how to end it. */
interface OpenTransaction {
  tx: Queryable;
  commit(): void;
  rollback(): void;
  /** Settles when the transaction has ended (rejects with the commit's error, if any). */
  ended: Promise<void>;
}

async function beginTransaction(db: Database): Promise<OpenTransaction> {
  let end!: { commit(): void; rollback(): void };
  let opened!: (tx: Queryable) => void;
  const open = new Promise<Queryable>((resolve) => (opened = resolve));
  const ended = db
    .transaction(async (tx) => {
      const finish = new Promise<void>((resolve, reject) => (end = { commit: resolve, rollback: () => reject(new Rollback()) }));
      opened(tx);
      await finish;
    })
    .catch((err: unknown) => {
      if (!(err instanceof Rollback)) throw err;
    });
  // BEGIN itself may fail: then the transaction never opens, and its error is the answer.
  const tx = await Promise.race([open, ended.then(() => Promise.reject(new Error('the transaction did not open')))]);
  return { tx, commit: () => end.commit(), rollback: () => end.rollback(), ended };
}

/** One connection: its requests run in the order they came, inside its transaction while one is open. */
function serveConnection(db: Database, socket: Socket, track: (ended: Promise<void>) => void): void {
  let open: OpenTransaction | null = null;
  let idle: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();
  let closed = false;

  const abandon = () => {
    clearTimeout(idle);
    open?.rollback();
    open = null;
  };
  const run = async (req: WireRequest): Promise<unknown> => {
    const target: Queryable = open?.tx ?? db;
    switch (req.op) {
      case 'query':
        return (await target.query(req.sql ?? '', req.params)).rows;
      case 'boss':
        return (await target.boss.executeSql(req.sql ?? '', req.params)).rows;
      case 'exec':
        if (open) throw new Error('exec inside a transaction: send the script as a boss statement');
        await db.exec(req.sql ?? '');
        return [];
      case 'begin':
        if (open) throw new Error('a transaction is already open on this connection');
        open = await beginTransaction(db);
        if (closed) abandon();
        return [];
      case 'commit':
      case 'rollback': {
        if (!open) throw new Error(`${req.op} without a transaction`);
        const ending = open;
        open = null;
        if (req.op === 'commit') ending.commit();
        else ending.rollback();
        await ending.ended;
        return [];
      }
    }
  };
  const handle = async (req: WireRequest) => {
    clearTimeout(idle);
    let answer: unknown;
    try {
      answer = { id: req.id, rows: await run(req) };
    } catch (err) {
      answer = { id: req.id, error: toWireError(err) };
    }
    if (open && !closed) {
      const current = open;
      track(current.ended);
      idle = setTimeout(() => {
        if (open !== current) return;
        abandon();
        socket.destroy();
      }, TRANSACTION_IDLE_MS);
    }
    if (!closed) socket.write(encodeFrame(answer));
  };

  const read = frameReader(
    (value) => {
      const req = requestSchema.safeParse(value);
      if (!req.success) {
        socket.destroy();
        return;
      }
      queue = queue.then(() => handle(req.data));
    },
    () => socket.destroy(),
  );
  socket.on('data', read);
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    // A client that dies mid-transaction leaves nothing half-done; what it queued after runs outside.
    queue = queue.then(abandon);
    abandon();
  });
}

/**
 * Serves the database to the operator commands of the same user while this process holds it: a
 * Unix socket (mode 0600) in the data folder, never a TCP port. The embedded database is one
 * process's; through this socket `kodah accounts …` and the other commands reach it while the
 * server runs. The caller must hold the data folder's lock (a leftover socket is replaced).
 */
export async function serveDatabase(db: Database, socketPath: string): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>();
  const transactions = new Set<Promise<void>>();
  const track = (ended: Promise<void>) => {
    if (transactions.has(ended)) return;
    transactions.add(ended);
    void ended.finally(() => transactions.delete(ended)).catch(() => {});
  };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(db, socket, track);
  });
  // Bound first in a folder only this user can enter, made private, then moved into place: no
  // moment where another user could connect to it.
  const dir = path.dirname(socketPath);
  const privateDir = await mkdtemp(path.join(dir, '.s'));
  try {
    const bound = path.join(privateDir, 's');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(bound, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(bound, 0o600);
    await rename(bound, socketPath);
  } catch (err) {
    server.close();
    throw err;
  } finally {
    await rm(privateDir, { recursive: true, force: true });
  }
  return async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    await Promise.allSettled([...transactions]);
    await unlink(socketPath).catch(() => {});
  };
}
