import type { PgBoss } from 'pg-boss';
import type { Database } from '../db/database.js';
import type { RemoteRefs } from '../git/ls-remote.js';
import type { RepositoryProbe } from '../git/repository-probe.js';
import type { Logger } from '../lib/logger.js';
import { enqueueIndex, INDEX_QUEUE, type IndexTaskData } from './index-queue.js';

export interface SyncDeps {
  db: Database;
  boss: PgBoss;
  probe: RepositoryProbe;
  log: Logger;
  /** KODAH_INDEX_SYNC_INTERVAL_S: how long after its last check a repository is checked again. */
  intervalS: number;
}

/** Repositories checked per claim: each costs one ls-remote, a few at a time. */
const BATCH = 20;
const AT_ONCE = 4;

/**
 * Claims the repositories due for a check (never checked, or not for `intervalS`), stamping them
 * in the same statement so that other processes doing the same claim others. SKIP LOCKED: a
 * row another process is stamping is simply not this one's.
 */
async function claimDue(db: Database, intervalS: number): Promise<Array<{ id: string; account_id: string; remote_uri: string }>> {
  const claimed = await db.query<{ id: string; account_id: string; remote_uri: string }>(
    `UPDATE code_repositories r SET synced_at = now()
      WHERE r.id IN (SELECT id FROM code_repositories
                      WHERE synced_at IS NULL OR synced_at < now() - make_interval(secs => $1)
                      ORDER BY synced_at NULLS FIRST LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING r.id::text AS id, r.account_id, r.remote_uri`,
    [intervalS, BATCH],
  );
  return claimed.rows;
}

/** Whether the remote's branches or tags are not what the last run mapped. */
async function remoteMoved(db: Database, repositoryId: string, remote: RemoteRefs): Promise<boolean> {
  const mapped = new Map<string, string>();
  const branches = await db.query<{ name: string; head_sha: string }>('SELECT name, head_sha FROM code_branches WHERE repository_id = $1', [
    repositoryId,
  ]);
  for (const b of branches.rows) mapped.set(`refs/heads/${b.name}`, b.head_sha);
  const tags = await db.query<{ name: string; target_sha: string }>('SELECT name, target_sha FROM code_tags WHERE repository_id = $1', [
    repositoryId,
  ]);
  for (const t of tags.rows) mapped.set(`refs/tags/${t.name}`, t.target_sha);
  const advertised = [...remote.refs].filter(([name]) => name.startsWith('refs/heads/') || name.startsWith('refs/tags/'));
  return advertised.length !== mapped.size || advertised.some(([name, sha]) => mapped.get(name) !== sha);
}

/** Whether an index run of the repository is waiting or running: a sync then adds nothing. */
async function busy(boss: PgBoss, repositoryId: string): Promise<boolean> {
  const jobs = await boss.findJobs<IndexTaskData>(INDEX_QUEUE, { key: repositoryId });
  return jobs.some((j) => j.state === 'created' || j.state === 'retry' || j.state === 'active');
}

/**
 * One round of syncing: the repositories due are checked with a cheap ls-remote, and a run is
 * queued for each whose remote moved, unless one is already waiting or running. A remote that
 * cannot be reached is tried again at the next interval. Resolves to what it did.
 */
export async function syncDueRepositories(deps: SyncDeps): Promise<{ checked: number; queued: number }> {
  const due = await claimDue(deps.db, deps.intervalS);
  let queued = 0;
  const check = async (repository: (typeof due)[number]) => {
    if (await busy(deps.boss, repository.id)) return;
    try {
      const info = await deps.probe.probe(repository.remote_uri, { accountId: repository.account_id, fresh: true });
      if (!(await remoteMoved(deps.db, repository.id, info.refs))) return;
      if (await enqueueIndex(deps.boss, repository)) queued++;
    } catch (err) {
      deps.log.warn({ err, repositoryId: repository.id }, 'index sync: could not check the remote; trying again at the next interval');
    }
  };
  for (let i = 0; i < due.length; i += AT_ONCE) await Promise.all(due.slice(i, i + AT_ONCE).map(check));
  return { checked: due.length, queued };
}

/**
 * Syncs in the background of a worker process: a round a minute at most (sooner for short
 * intervals), each claiming only what is due, so any number of workers share the work.
 */
export function startIndexSync(deps: SyncDeps): { stop(): Promise<void> } {
  let round: Promise<void> | null = null;
  const timer = setInterval(
    () => {
      // A round still checking remotes (a slow host) is not joined by another: ticks while it runs are skipped.
      if (round) return;
      round = syncDueRepositories(deps)
        .then(
          ({ checked, queued }) => {
            if (queued) deps.log.info({ checked, queued }, 'index sync: remotes moved; runs queued');
          },
          (err: unknown) => deps.log.warn({ err }, 'index sync round failed'),
        )
        .finally(() => {
          round = null;
        });
    },
    Math.min(60, Math.max(1, deps.intervalS / 4)) * 1000,
  );
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await round;
    },
  };
}
