import { readdirSync, readFileSync, statSync } from 'node:fs';

export interface UidUsage {
  /** Live processes (zombies left out: they cannot be killed, only reaped). */
  pids: number[];
  /** Threads of all its processes, zombies included: what RLIMIT_NPROC counts. */
  threads: number;
  residentBytes: number;
}

/**
 * The processes (seen from the host's /proc) running as `uid`, with their threads and resident
 * memory together. Each sandbox of a root server runs as a uid of its own, so this is exactly the
 * sandbox's processes: how its memory and process limits are measured without cgroups.
 *
 * Synchronous on purpose: a few hundred stat calls of procfs take well under a millisecond in a
 * row, where as many round trips through libuv's thread pool take ten or more, after every run.
 */
export async function uidUsage(uid: number): Promise<UidUsage> {
  const usage: UidUsage = { pids: [], threads: 0, residentBytes: 0 };
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const owner = statSync(`/proc/${name}`, { throwIfNoEntry: false });
    if (owner?.uid !== uid) continue;
    let status = '';
    try {
      status = readFileSync(`/proc/${name}/status`, 'utf8');
    } catch {
      // gone since the stat
    }
    if (status === '') continue;
    const threads = /^Threads:\s+(\d+)/m.exec(status);
    usage.threads += threads ? Number(threads[1]) : 1;
    // A zombie holds no memory and cannot be killed; its parent (or init) reaps it.
    if (/^State:\s+Z/m.test(status)) continue;
    usage.pids.push(Number(name));
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    usage.residentBytes += rss ? Number(rss[1]) * 1024 : 0;
  }
  return usage;
}

/**
 * SIGKILL to every process of `uid` but `spare`, until none is left (a fork bomb keeps making new
 * ones for a while).
 */
export async function killUid(uid: number, spare?: number): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = (await uidUsage(uid)).pids.filter((pid) => pid !== spare);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
