import type { PgBoss } from 'pg-boss';
import type { Queryable } from '../db/database.js';
import { enqueueCallback, enqueueJobPullRequest } from './delivery-queues.js';
import type { JobSettled } from './job-lifecycle.js';

/**
 * Queues what a settled job asked for, in the settling transaction (so exactly once per job): its
 * draft pull request when it succeeded, whose delivery then sends the callback (which carries the
 * pull request's URL); otherwise the callback at once.
 */
export function jobDeliveryHooks(boss: PgBoss): JobSettled {
  return async (tx: Queryable, job) => {
    const { rows } = await tx.query<{ state: string; delivery_id: string | null; wants_pr: boolean }>(
      `SELECT j.state, c.delivery_id, EXISTS (SELECT 1 FROM job_pull_requests p WHERE p.job_id = j.id) AS wants_pr
         FROM jobs j LEFT JOIN job_callbacks c ON c.job_id = j.id WHERE j.id = $1`,
      [job.id],
    );
    const row = rows[0];
    if (!row) return;
    if (row.wants_pr && row.state === 'completed') await enqueueJobPullRequest(boss, job.id, tx);
    else if (row.delivery_id) await enqueueCallback(boss, job.id, row.delivery_id, tx);
  };
}

/** Both hooks, in order: a settlement may concern GitHub (its source) and the job's own deliveries. */
export function bothSettled(first: JobSettled | undefined, second: JobSettled): JobSettled {
  return async (tx, job) => {
    await first?.(tx, job);
    await second(tx, job);
  };
}
