import type { PgBoss } from 'pg-boss';
import type { Config } from '../config.js';
import { FIX_DEAD_LETTER_QUEUE, FIX_QUEUE, type FixJobData } from './queue.js';
import { type RunJobDeps, runFixJob, settleDeadLetter } from './run-job.js';

/** Subscribes this process to the fix queue (and its dead letters). pg-boss stops them on stop(). */
export async function startWorkers(boss: PgBoss, deps: RunJobDeps, config: Config): Promise<void> {
  const fixOptions = {
      localConcurrency: config.worker.concurrency,
      batchSize: 1,
      includeMetadata: true,
      // LISTEN/NOTIFY wakes workers at once; polling is the backstop when a notification is lost.
      pollingIntervalSeconds: 2,
      notifyPollingIntervalSeconds: 10,
  } as const;
  await boss.work<FixJobData, void, typeof fixOptions>(FIX_QUEUE, fixOptions, async ([job]) => {
    if (job) await runFixJob(deps, job);
  });
  const deadOptions = { includeMetadata: true, pollingIntervalSeconds: 5 } as const;
  await boss.work<FixJobData, void, typeof deadOptions>(FIX_DEAD_LETTER_QUEUE, deadOptions, async ([job]) => {
    if (job) await settleDeadLetter(deps, job);
  });
}
