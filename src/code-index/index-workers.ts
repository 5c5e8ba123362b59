import type { PgBoss } from 'pg-boss';
import { INDEX_QUEUE, type IndexTaskData } from './index-queue.js';
import { type IndexDeps, indexRepository } from './index-repository.js';
import { SnippetPool } from './snippet-pool.js';

export interface IndexWorkers {
  stop(): Promise<void>;
}

/**
 * Subscribes this process to index runs: one at a time per process (a run already uses every
 * core through the snippet pool), each bounded by the index time limit.
 */
export async function startIndexWorkers(
  boss: PgBoss,
  deps: Omit<IndexDeps, 'pool'>,
  /** Called with each newly indexed commit: this process's search warms its segment at once. */
  onIndexed: (repositoryId: string, commit: string) => Promise<unknown> = async () => {},
): Promise<IndexWorkers> {
  const pool = new SnippetPool(deps.config.index.threads, (err) => deps.log.error({ err }, 'snippet thread died'));
  // LISTEN/NOTIFY starts a run as soon as it is queued; the poll is the backstop.
  const options = {
    localConcurrency: 1,
    batchSize: 1,
    includeMetadata: true,
    pollingIntervalSeconds: 2,
    notifyPollingIntervalSeconds: 2,
  } as const;
  await boss.work<IndexTaskData, void, typeof options>(INDEX_QUEUE, options, async ([job]) => {
    if (!job) return;
    const signal = AbortSignal.any([job.signal, AbortSignal.timeout(deps.config.index.timeoutS * 1000)]);
    const indexed = await indexRepository({ ...deps, pool }, String(job.data.repositoryId), signal);
    if (indexed)
      await onIndexed(String(job.data.repositoryId), indexed.commit).catch((err: unknown) =>
        deps.log.warn({ err }, 'warming the search index failed'),
      );
  });
  return { stop: () => pool.close() };
}
