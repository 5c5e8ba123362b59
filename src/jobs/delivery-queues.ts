import type { PgBoss } from 'pg-boss';
import type { Config } from '../config.js';
import type { Queryable } from '../db/database.js';
import type { QueueSpec } from '../db/queue-spec.js';

/** A finished job's callback: one POST to the URL it gave, retried with backoff. */
export const CALLBACK_QUEUE = 'kodah-job-callback';
/** A succeeded job's draft pull request, for REST jobs that asked for one (github/ delivers it). */
export const JOB_PULL_REQUEST_QUEUE = 'kodah-job-pull-request';

export interface JobDeliveryData {
  jobId: string;
}

/**
 * Callbacks: retried on network errors, 5xx and 429 up to KODAH_CALLBACK_RETRIES times, the delays
 * doubling from KODAH_CALLBACK_RETRY_DELAY_S (pg-boss adds up to as much again at random) and
 * capped at 10 minutes. Pull requests: GitHub's outages and rate limits, as the App's deliveries.
 */
export function deliveryQueueSpecs(config: Config): QueueSpec[] {
  const { retries, retryDelayS, timeoutMs } = config.callbacks;
  return [
    {
      name: CALLBACK_QUEUE,
      options: {
        retryLimit: retries,
        retryDelay: retryDelayS,
        retryBackoff: true,
        retryDelayMax: 600,
        expireInSeconds: Math.ceil(timeoutMs / 1000) + 30,
      },
    },
    {
      name: JOB_PULL_REQUEST_QUEUE,
      options: { retryLimit: 8, retryDelay: 5, retryBackoff: true, retryDelayMax: 600, expireInSeconds: config.index.timeoutS },
    },
  ];
}

/**
 * Queues a job's callback; `deliveryId` is the queue job's id too, so queueing it twice (a retried
 * pull request delivery) makes one delivery.
 */
export async function enqueueCallback(boss: PgBoss, jobId: string, deliveryId: string, tx?: Queryable): Promise<void> {
  await boss.send(CALLBACK_QUEUE, { jobId } satisfies JobDeliveryData, { id: deliveryId, ...(tx ? { db: tx.boss } : {}) });
}

export async function enqueueJobPullRequest(boss: PgBoss, jobId: string, tx: Queryable): Promise<void> {
  await boss.send(JOB_PULL_REQUEST_QUEUE, { jobId } satisfies JobDeliveryData, { id: jobId, db: tx.boss });
}
