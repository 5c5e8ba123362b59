import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { safeHost, scratchOwner } from '../lib/scratch-name.js';

/** Whether a process of this host is alive (EPERM: alive, someone else's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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
      if (!owner || owner.host !== host || owner.pid === process.pid || alive(owner.pid)) continue;
      await rm(path.join(dir, name), { recursive: true, force: true });
      removed.push(path.join(dir, name));
    }
  }
  return removed;
}
