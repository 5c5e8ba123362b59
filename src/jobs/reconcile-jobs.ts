import type { PgBoss } from 'pg-boss';
import type { Database } from '../db/database.js';
import { KodahError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { failJob, type JobSettled } from './job-lifecycle.js';
import { FIX_DEAD_LETTER_QUEUE, FIX_QUEUE, type FixJobData } from './fix-queue.js';

const LIVE = new Set(['created', 'retry', 'active']);

/**
 * The last safety net for credits: a job row still queued or running whose queue job is gone or
 * finished, with nothing pending in the dead-letter queue either (pg-boss deleted it after its
 * retention, or the dead-letter handler gave up). Such a job would hold its credit and the
 * account's concurrency slot forever; it is failed as our error and refunded. Idempotent, so any
 * number of workers may run it. Resolves to the number of jobs settled.
 */
export async function reconcileLostJobs(
  deps: { db: Database; boss: PgBoss; log: Logger; onSettled?: JobSettled },
  options: { olderThanS: number; limit?: number },
): Promise<number> {
  const { db, boss, log } = deps;
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM jobs WHERE state IN ('queued', 'running') AND created_at < clock_timestamp() - $1 * interval '1 second'
      ORDER BY created_at LIMIT $2`,
    [options.olderThanS, options.limit ?? 100],
  );
  let settled = 0;
  for (const { id } of rows) {
    const queued = await boss.findJobs(FIX_QUEUE, { id });
    if (queued.some((j) => LIVE.has(j.state))) continue;
    const dead = await boss.findJobs<FixJobData>(FIX_DEAD_LETTER_QUEUE, { data: { jobId: id } });
    if (dead.some((j) => LIVE.has(j.state))) continue;
    const error = new KodahError('worker_lost', 'The job was lost by the queue before it could finish');
    if (await failJob(db, id, null, error, deps.onSettled)) {
      settled++;
      log.warn({ jobId: id }, 'lost job failed and refunded');
    }
  }
  return settled;
}
