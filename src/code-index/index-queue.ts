import type { PgBoss } from 'pg-boss';
import type { Config } from '../config.js';
import type { Queryable } from '../db/database.js';
import type { QueueSpec } from '../db/queue-spec.js';

export const INDEX_QUEUE = 'kodah-index';

/** The task types the queue endpoint shows and filters on. */
export type IndexTaskType = 'repository.index';

export interface IndexTaskData {
  type: IndexTaskType;
  repositoryId: string;
  remoteUri: string;
}

/**
 * Index runs queue up per repository: with the `stately` policy one run may be active and one
 * waiting for each repository, so asking again while a run is queued adds nothing.
 */
export function indexQueueSpec(config: Config): QueueSpec {
  return {
    name: INDEX_QUEUE,
    options: {
      policy: 'stately',
      retryLimit: 3,
      retryDelay: 10,
      retryBackoff: true,
      expireInSeconds: config.index.timeoutS + 60,
      heartbeatSeconds: config.worker.heartbeatS,
      notify: true,
    },
  };
}

/** Queues an index run of the repository (in the caller's transaction when one is given). */
export async function enqueueIndex(boss: PgBoss, repository: { id: string; remote_uri: string }, tx?: Queryable): Promise<string | null> {
  const data: IndexTaskData = { type: 'repository.index', repositoryId: repository.id, remoteUri: repository.remote_uri };
  return boss.send(INDEX_QUEUE, data, { singletonKey: repository.id, priority: 0, ...(tx ? { db: tx.boss } : {}) });
}

/** Cancels the repository's queued and running index runs (a running one stops at its next write). */
export async function cancelIndexTasks(boss: PgBoss, repositoryId: string): Promise<void> {
  const jobs = await boss.findJobs<IndexTaskData>(INDEX_QUEUE, { key: repositoryId });
  const open = jobs.filter((j) => j.state === 'created' || j.state === 'retry' || j.state === 'active').map((j) => j.id);
  if (open.length) await boss.cancel(INDEX_QUEUE, open);
}

export interface IndexTask {
  id: string;
  type: IndexTaskType;
  priority: number;
  state: string;
  payload: IndexTaskData;
  createdAt: Date;
  updatedAt: Date | null;
}

/** The index runs waiting or running, oldest first; only those of the given repositories. */
export async function listIndexTasks(boss: PgBoss, repositoryIds: ReadonlySet<string>): Promise<IndexTask[]> {
  const jobs = await boss.findJobs<IndexTaskData>(INDEX_QUEUE, { limit: 10_000 });
  const open = jobs.filter((j) => j.state === 'active' || j.state === 'created' || j.state === 'retry');
  // Running first, then waiting, each oldest first.
  open.sort((a, b) => Number(b.state === 'active') - Number(a.state === 'active'));
  return open
    .filter((j) => repositoryIds.has(String(j.data.repositoryId)))
    .map((j) => ({
      id: j.id,
      type: j.data.type,
      priority: j.priority,
      state: j.state,
      payload: j.data,
      createdAt: j.createdOn,
      updatedAt: j.startedOn ?? null,
    }));
}
