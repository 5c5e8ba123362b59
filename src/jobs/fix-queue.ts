import type { PgBoss } from 'pg-boss';
import type { Config } from '../config.js';
import type { Queryable } from '../db/database.js';
import type { QueueSpec } from '../db/queue-spec.js';

export const FIX_QUEUE = 'kodah-fix';
/** Where pg-boss puts a fix job whose retries ran out without our handler settling it (a dead worker). */
export const FIX_DEAD_LETTER_QUEUE = 'kodah-fix-dead';

export interface FixJobData {
  jobId: string;
}

/** The fix queue and its dead letters: retries, time limit and heartbeat from the worker settings. */
export function fixQueueSpecs(config: Config): QueueSpec[] {
  return [
    { name: FIX_DEAD_LETTER_QUEUE, options: { retryLimit: 10, retryDelay: 5, retryBackoff: true, notify: true } },
    {
      name: FIX_QUEUE,
      options: {
        retryLimit: config.worker.retries,
        retryDelay: 2,
        retryBackoff: true,
        retryDelayMax: 60,
        expireInSeconds: config.worker.jobTimeoutS,
        heartbeatSeconds: config.worker.heartbeatS,
        deadLetter: FIX_DEAD_LETTER_QUEUE,
        notify: true,
      },
    },
  ];
}

/** Enqueues a fix job in the caller's transaction: it exists for workers exactly when the job row does. */
export async function enqueueFix(boss: PgBoss, tx: Queryable, jobId: string): Promise<void> {
  await boss.send(FIX_QUEUE, { jobId } satisfies FixJobData, { id: jobId, db: tx.boss });
}
