import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { connectDatabase } from './connect.js';
import { DataDirInUseError } from './data-dir-lock.js';
import type { Database } from './database.js';
import { connectRemoteDatabase } from './remote-database.js';
import { operatorSocketPath } from './serve-database.js';

/** How long a command waits for a server that holds the folder but is still opening the database (initdb: seconds). */
const SERVER_OPENING_MS = 60_000;

/**
 * The database for an operator command (`kodah accounts …`): PostgreSQL, or the embedded one —
 * opened here when no process holds it, or else reached through the operator socket of the
 * process that does (a running `kodah start`), so the commands work beside the server.
 */
export async function connectOperatorDatabase(
  config: Pick<Config, 'databaseUrl' | 'databasePoolMax' | 'dataDir'>,
  waitMs = SERVER_OPENING_MS,
): Promise<Database> {
  if (config.databaseUrl) return connectDatabase(config);
  const deadline = Date.now() + waitMs;
  for (;;) {
    let inUse: DataDirInUseError;
    try {
      return await connectDatabase(config);
    } catch (err) {
      if (!(err instanceof DataDirInUseError)) throw err;
      inUse = err;
    }
    const socketPath = operatorSocketPath(config.dataDir);
    if (!socketPath) {
      throw new Error(
        `${inUse.message} Its path is too long for the socket through which operator commands reach a running server ` +
          '(107 bytes for kodah.sock): use a shorter KODAH_DATA_DIR.',
      );
    }
    try {
      return await connectRemoteDatabase(socketPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The holder binds its socket once the database is open; until then there is none, or a dead one.
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > deadline) {
        throw new Error(`${inUse.message} Its socket ${socketPath} did not answer (${(err as Error).message}).`, { cause: err });
      }
    }
    await sleep(200);
  }
}
