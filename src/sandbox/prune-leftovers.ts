import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { safeHost, scratchOwner } from '../lib/scratch-name.js';
import { processAlive } from '../lib/process-alive.js';

/**
 * Removes what a killed worker of this host left in `dirs` (sandbox scratch folders with their
 * HOME and /tmp, job work trees): entries named by `scratchName` whose process is gone. Entries
 * of live processes, of other hosts sharing the folder, and anything else are left alone. Its
 * sandboxes' processes died with it (bwrap's --die-with-parent). Returns the paths removed.
 */
export async function pruneLeftovers(dirs: readonly string[]): Promise<string[]> {
  const host = safeHost();
  const removed: string[] = [];
  for (const dir of dirs) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const owner = scratchOwner(name);
      if (!owner || owner.host !== host || owner.pid === process.pid || processAlive(owner.pid)) continue;
      await rm(path.join(dir, name), { recursive: true, force: true });
      removed.push(path.join(dir, name));
    }
  }
  return removed;
}
