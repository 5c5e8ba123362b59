import type { PgBoss } from 'pg-boss';
import type { Database } from '../db/database.js';
import { KodahError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { callbackSecret, signCallback } from './callback-secret.js';
import { type CallbackPolicy, CallbackRefused, type ResolveHost } from './callback-url.js';
import { CALLBACK_QUEUE, type JobDeliveryData } from './delivery-queues.js';
import { type JobDeliveries, readJobDeliveries, recordCallbackOutcome, startCallbackAttempt } from './job-deliveries.js';
import { getJobById } from './job-lifecycle.js';
import type { JobRecord } from './job-record.js';
import { postCallback } from './post-callback.js';

export interface CallbackDeps {
  db: Database;
  policy: CallbackPolicy;
  /** The resolver deliveries check and connect with (tests script one). */
  resolve?: ResolveHost;
  timeoutMs: number;
  /** The body: the job's status as GET /jobs/{id}/status shows it (http/ renders it). */
  render: (job: JobRecord, deliveries: JobDeliveries) => unknown;
  log: Logger;
}

/** What one attempt came to: delivered, worth another attempt, or given up. */
export type CallbackOutcome = 'delivered' | 'retry' | 'failed' | 'skipped';

/**
 * One attempt at a settled job's callback. Idempotent: a delivered callback is not sent again.
 * Signed with the account's secret as it is now (a rotation signs later attempts with the new one).
 * 2xx delivers; a network error, a timeout, 5xx and 429 are worth another attempt; any other
 * status (3xx included: redirects are not followed) and a refusal by the URL policy are final.
 */
export async function deliverCallback(deps: CallbackDeps, jobId: string): Promise<CallbackOutcome> {
  const { db } = deps;
  const job = await getJobById(db, jobId);
  const deliveries = await readJobDeliveries(db, jobId);
  const callback = deliveries.callback;
  if (!job || !callback || callback.deliveredAt) return 'skipped';
  if (job.state !== 'completed' && job.state !== 'failed' && job.state !== 'cancelled') return 'skipped';
  const body = JSON.stringify(deps.render(job, deliveries));
  const { secret } = await callbackSecret(db, job.accountId);
  const headers = {
    'user-agent': 'Kodah-Callback/1',
    'x-kodah-event': `job.${job.state}`,
    'x-kodah-delivery': callback.deliveryId,
    'x-kodah-signature-256': signCallback(secret, body),
  };
  await startCallbackAttempt(db, jobId);
  const log = deps.log.child({ jobId, delivery: callback.deliveryId });
  let status: number;
  try {
    ({ status } = await postCallback(callback.url, body, headers, {
      policy: deps.policy,
      resolve: deps.resolve,
      timeoutMs: deps.timeoutMs,
    }));
  } catch (err) {
    if (err instanceof CallbackRefused || err instanceof KodahError) {
      await recordCallbackOutcome(db, jobId, { status: null, error: `refused: ${err.message}`, delivered: false });
      log.warn({ url: callback.url, reason: err.message }, 'callback refused by the URL policy');
      return 'failed';
    }
    const message = err instanceof Error ? err.message : String(err);
    await recordCallbackOutcome(db, jobId, { status: null, error: message, delivered: false });
    log.info({ url: callback.url, err: message }, 'callback attempt failed');
    return 'retry';
  }
  const delivered = status >= 200 && status < 300;
  const retry = status === 429 || status >= 500;
  const error = delivered ? null : status >= 300 && status < 400 ? `answered ${status} (redirects are not followed)` : `answered ${status}`;
  await recordCallbackOutcome(db, jobId, { status, error, delivered });
  log.info({ url: callback.url, status }, delivered ? 'callback delivered' : 'callback not accepted');
  return delivered ? 'delivered' : retry ? 'retry' : 'failed';
}

/** Subscribes this process to the callback queue: a `retry` outcome fails the queue job so pg-boss retries it. */
export async function startCallbackWorker(boss: PgBoss, deps: CallbackDeps, concurrency: number): Promise<void> {
  await boss.work<JobDeliveryData>(
    CALLBACK_QUEUE,
    { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 1 },
    async ([job]) => {
      if (!job) return;
      const outcome = await deliverCallback(deps, job.data.jobId);
      if (outcome === 'retry') throw new Error('callback not delivered: the queue retries it');
    },
  );
}
