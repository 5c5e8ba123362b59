import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.js';

/**
 * What a REST job asked for beyond its result: a callback when it ends, a draft pull request when
 * it succeeds. Written in the transaction that accepts the job; updated by their deliveries.
 */

/** Where a job's pull request goes: the App's installation that covers the repository. */
export interface PullRequestTarget {
  installationId: number;
  repositoryId: number;
  /** owner/name on the App's GitHub. */
  fullName: string;
}

export interface CallbackRecord {
  url: string;
  deliveryId: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
}

export interface PullRequestRecord extends PullRequestTarget {
  baseRef: string;
  branch: string | null;
  number: number | null;
  url: string | null;
  error: string | null;
}

export interface JobDeliveries {
  callback: CallbackRecord | null;
  pullRequest: PullRequestRecord | null;
}

/** Records what an accepted job asked for (inside the transaction that accepts it). */
export async function recordJobDeliveries(
  tx: Queryable,
  jobId: string,
  asked: { callbackUrl?: string; pullRequest?: PullRequestTarget & { baseRef: string } },
): Promise<void> {
  if (asked.callbackUrl) {
    await tx.query('INSERT INTO job_callbacks (job_id, url, delivery_id) VALUES ($1, $2, $3) ON CONFLICT (job_id) DO NOTHING', [
      jobId,
      asked.callbackUrl,
      randomUUID(),
    ]);
  }
  const pr = asked.pullRequest;
  if (pr) {
    await tx.query(
      `INSERT INTO job_pull_requests (job_id, installation_id, repository_id, full_name, base_ref)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO NOTHING`,
      [jobId, pr.installationId, pr.repositoryId, pr.fullName, pr.baseRef],
    );
  }
}

interface DeliveriesRow {
  cb_url: string | null;
  delivery_id: string | null;
  attempts: number | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  installation_id: string | null;
  repository_id: string | null;
  full_name: string | null;
  base_ref: string | null;
  branch: string | null;
  pr_number: number | null;
  pr_url: string | null;
  pr_error: string | null;
}

/** The job's callback and pull request, each null when the job did not ask for it. */
export async function readJobDeliveries(db: Queryable, jobId: string): Promise<JobDeliveries> {
  const { rows } = await db.query<DeliveriesRow>(
    `SELECT c.url AS cb_url, c.delivery_id, c.attempts, c.last_status, c.last_error, c.delivered_at,
            p.installation_id, p.repository_id, p.full_name, p.base_ref, p.branch, p.pr_number, p.pr_url, p.error AS pr_error
       FROM (SELECT $1::uuid AS id) j
       LEFT JOIN job_callbacks c ON c.job_id = j.id
       LEFT JOIN job_pull_requests p ON p.job_id = j.id`,
    [jobId],
  );
  const r = rows[0]!;
  return {
    callback: r.cb_url
      ? {
          url: r.cb_url,
          deliveryId: r.delivery_id!,
          attempts: r.attempts!,
          lastStatus: r.last_status,
          lastError: r.last_error,
          deliveredAt: r.delivered_at && new Date(r.delivered_at),
        }
      : null,
    pullRequest: r.full_name
      ? {
          installationId: Number(r.installation_id),
          repositoryId: Number(r.repository_id),
          fullName: r.full_name,
          baseRef: r.base_ref!,
          branch: r.branch,
          number: r.pr_number,
          url: r.pr_url,
          error: r.pr_error,
        }
      : null,
  };
}

/** Counts an attempt before it is made: a worker that dies mid-request still leaves it counted. */
export async function startCallbackAttempt(db: Queryable, jobId: string): Promise<void> {
  await db.query('UPDATE job_callbacks SET attempts = attempts + 1, updated_at = now() WHERE job_id = $1', [jobId]);
}

/** Records how the latest attempt went. */
export async function recordCallbackOutcome(
  db: Queryable,
  jobId: string,
  outcome: { status: number | null; error: string | null; delivered: boolean },
): Promise<void> {
  await db.query(
    `UPDATE job_callbacks SET last_status = $2, last_error = $3, updated_at = now(),
            delivered_at = CASE WHEN $4 THEN COALESCE(delivered_at, now()) ELSE delivered_at END
      WHERE job_id = $1`,
    [jobId, outcome.status, outcome.error?.slice(0, 500) ?? null, outcome.delivered],
  );
}

/** Records the pull request a job's delivery opened, or why it could not. */
export async function recordPullRequest(
  db: Queryable,
  jobId: string,
  outcome: { branch: string; number: number; url: string } | { error: string },
): Promise<void> {
  if ('error' in outcome) {
    await db.query('UPDATE job_pull_requests SET error = $2, updated_at = now() WHERE job_id = $1', [jobId, outcome.error.slice(0, 500)]);
    return;
  }
  await db.query(
    'UPDATE job_pull_requests SET branch = $2, pr_number = $3, pr_url = $4, error = NULL, updated_at = now() WHERE job_id = $1',
    [jobId, outcome.branch, outcome.number, outcome.url],
  );
}
