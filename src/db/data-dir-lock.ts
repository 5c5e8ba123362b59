import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from '../lib/process-alive.js';

/** The data folder is held by another live process (which serves it on its operator socket). */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    options?: ErrorOptions,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by process ${pid}. PGlite serves one process: ` +
        'stop that process first, or set DATABASE_URL to share a PostgreSQL database between processes.',
      options,
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * Takes the embedded database's folder for this process (a pid file created exclusively).
 * A lock left by a process that no longer exists is taken over. Resolves to the release function.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'kodah.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await unlink(file).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && processAlive(pid)) {
        throw new DataDirInUseError(dataDir, pid, { cause: err });
      }
      await unlink(file).catch(() => {});
    }
  }
  throw new Error(`Could not lock ${dataDir}`);
}
