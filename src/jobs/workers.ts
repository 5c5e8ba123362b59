import type { PgBoss } from 'pg-boss';
import type { Config } from '../config.js';
import { FIX_DEAD_LETTER_QUEUE, FIX_QUEUE, type FixJobData } from './fix-queue.js';
import { reconcileLostJobs } from './reconcile-jobs.js';
import { type RunJobDeps, runFixJob, settleDeadLetter } from './run-job.js';

/** How often, and past what age, workers look for jobs the queue lost. */
const RECONCILE_EVERY_MS = 5 * 60_000;
const RECONCILE_OLDER_THAN_S = 10 * 60;

export interface Workers {
  /**
   * Stops the background reconciliation and resolves when every handler of this process has
   * returned. pg-boss's stop() returns once it has handed unfinished jobs back, without waiting for
   * their handlers; those still have a database write to make before the connection may close.
   */
  stop(timeoutMs: number): Promise<void>;
}

/** Subscribes this process to the fix queue (and its dead letters). pg-boss stops them on stop(). */
export async function startWorkers(boss: PgBoss, given: RunJobDeps, config: Config): Promise<Workers> {
  const deps: RunJobDeps = { chargeUnfixed: config.billing.chargeUnfixed, ...given };
  const inflight = new Set<Promise<void>>();
  const track = (run: Promise<void>) => {
    const settled = run.catch(() => {}).finally(() => inflight.delete(settled));
    inflight.add(settled);
    return run;
  };
  const fixOptions = {
    localConcurrency: config.worker.concurrency,
    batchSize: 1,
    includeMetadata: true,
    // LISTEN/NOTIFY wakes workers at once; polling is the backstop when a notification is lost.
    pollingIntervalSeconds: 2,
    notifyPollingIntervalSeconds: 10,
  } as const;
  await boss.work<FixJobData, void, typeof fixOptions>(FIX_QUEUE, fixOptions, async ([job]) => {
    if (job) await track(runFixJob(deps, job));
  });
  // The queue notifies, so pg-boss polls at notifyPollingIntervalSeconds (30 s by default), but
  // it sends no notification when it dead-letters a job: the poll is what finds them.
  const deadOptions = { includeMetadata: true, pollingIntervalSeconds: 5, notifyPollingIntervalSeconds: 5 } as const;
  await boss.work<FixJobData, void, typeof deadOptions>(FIX_DEAD_LETTER_QUEUE, deadOptions, async ([job]) => {
    if (job) await track(settleDeadLetter(deps, job));
  });
  const reconcile = setInterval(() => {
    reconcileLostJobs({ db: deps.db, boss, log: deps.log, onSettled: deps.onSettled }, { olderThanS: RECONCILE_OLDER_THAN_S }).catch(
      (err: unknown) => deps.log.error({ err }, 'reconciling lost jobs failed'),
    );
  }, RECONCILE_EVERY_MS);
  reconcile.unref();
  return {
    async stop(timeoutMs) {
      clearInterval(reconcile);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.all(inflight), timeout]);
      clearTimeout(timer);
    },
  };
}
