import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Bytes allocated on disk under `dirs` together (blocks, as `du` counts them, so sparse files
 * count for what they use), not following symbolic links. Stops early once past `stopAt`: the
 * watchdog only needs to know that a limit was crossed. Entries that vanish while it walks are
 * skipped.
 */
export async function diskUsage(dirs: string | readonly string[], stopAt = Infinity): Promise<number> {
  let total = 0;
  const pending = typeof dirs === 'string' ? [dirs] : [...dirs];
  while (pending.length > 0 && total <= stopAt) {
    const current = pending.pop()!;
    const stat = await lstat(current).catch(() => null);
    if (!stat) continue;
    total += stat.blocks * 512;
    if (!stat.isDirectory()) continue;
    const names = await readdir(current).catch(() => [] as string[]);
    for (const name of names) pending.push(path.join(current, name));
  }
  return total;
}
