import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import type { CreditRules } from '../billing/credits.js';
import type { Config } from '../config.js';
import type { Database, Queryable } from '../db/database.js';
import { type Clock, monthOf } from '../lib/clock.js';
import { KodahError } from '../lib/errors.js';
import { type RepoInfo, type RepositoryProbe, type ResolvedRef, resolveRef } from '../git/repository-probe.js';
import { enqueueFix } from './fix-queue.js';
import type { QueueDepth } from './queue-depth.js';

export interface SubmitJobInput {
  task: 'fix';
  repoUrl: string;
  ref: string;
  description: string;
  source?: string;
  /** A caller-chosen id (GitHub tasks derive it from the delivery, so a retry finds its job). */
  jobId?: string;
  /**
   * Runs in the accepting transaction once the job is recorded (what it asked for beyond its
   * result: a callback, a pull request); a throw refuses the job and nothing is charged.
   */
  onAccepted?: (tx: Queryable, job: { jobId: string; ref: ResolvedRef; repo: RepoInfo }) => Promise<void>;
}

export interface SubmitJobDeps {
  db: Database;
  boss: PgBoss;
  probe: RepositoryProbe;
  queueDepth: QueueDepth;
  clock: Clock;
  rules: CreditRules;
  limits: Pick<Config['limits'], 'maxRunningJobsPerAccount' | 'retryAfterS'>;
  /**
   * Whether this process has a fix engine (a model is configured). Without one every job would
   * fail, so none is accepted. An API process judges by its own configuration: its workers, in
   * other processes, are configured alike.
   */
  modelConfigured: boolean;
}

type Refusal = 'no_account' | 'private_needs_paid' | 'no_credits' | 'job_in_progress' | 'at_capacity';

function refusal(outcome: Refusal, retryAfterS: number): KodahError {
  switch (outcome) {
    case 'no_account':
      return new KodahError('unauthorized', 'Invalid API key', { kind: 'input' });
    case 'private_needs_paid':
      return new KodahError('payment_required', 'Private repos require paid credits', { kind: 'input' });
    case 'no_credits':
      return new KodahError('payment_required', 'No credits remaining', { kind: 'input' });
    case 'job_in_progress': // named by jobsInProgress, outside the refused transaction
      return new KodahError('job_in_progress', 'Job already in progress', { kind: 'input', retryAfterS });
    case 'at_capacity':
      return new KodahError('at_capacity', 'Server at capacity', { kind: 'input', retryAfterS });
  }
}

/** Jobs named in a 429's detail; `running_jobs` lists them all (up to the query's bound). */
const NAMED_JOBS = 5;

/** The 429 for an account at its limit: which of its jobs hold the slots, and how many it has. */
async function jobsInProgress(db: Database, accountId: string, limits: SubmitJobDeps['limits']): Promise<KodahError> {
  const { rows } = await db.query<{ id: string; max_running: number }>(
    `SELECT j.id, COALESCE(a.max_running_jobs, $2)::int AS max_running FROM jobs j JOIN accounts a ON a.id = j.account_id
      WHERE j.account_id = $1 AND j.state IN ('queued', 'running') ORDER BY j.created_at, j.id LIMIT 100`,
    [accountId, limits.maxRunningJobsPerAccount],
  );
  const ids = rows.map((r) => r.id);
  // They finished between the refusal and this read: a retry now will likely be taken.
  if (!ids.length)
    return new KodahError('job_in_progress', 'Job already in progress; it has just finished: try again', { kind: 'input', retryAfterS: 1 });
  const max = rows[0]!.max_running;
  const named = ids.slice(0, NAMED_JOBS).join(', ') + (ids.length > NAMED_JOBS ? `, and ${ids.length - NAMED_JOBS} more` : '');
  return new KodahError(
    'job_in_progress',
    `Job already in progress: ${ids.length} of ${max} allowed (${named}); wait for one to finish or cancel it`,
    { kind: 'input', retryAfterS: limits.retryAfterS, fields: { running_jobs: ids, max_running_jobs: max } },
  );
}

/**
 * Accepts a job: checks the repository and ref, then in one transaction takes the credit, records
 * the job and enqueues it (kodah_accept_job holds the account's row lock, so concurrent
 * submissions of one account queue up there and none can spend a credit twice).
 * The answers come in this order, first failure wins:
 *   422 bad body (the route's schema) → 503 no fix engine → 422 the URL policy and the host
 *   allow-list (before any network access) → 503 repository host unreachable / 404 repository
 *   or ref not found → 402 private repo without paid credits → 402 no credits remaining →
 *   429 job already in progress (naming the jobs) → 429 server at capacity.
 * Credits come before the limits because waiting never cures a 402, while a 429 says "retry".
 */
export async function submitJob(deps: SubmitJobDeps, accountId: string, input: SubmitJobInput): Promise<{ jobId: string }> {
  const { db, boss, probe, queueDepth, clock, rules, limits } = deps;
  if (!deps.modelConfigured) {
    throw new KodahError(
      'engine_not_configured',
      'No fix engine: this Kodah server has no model configured, so it cannot fix anything yet. The operator must set OPENAI_BASE_URL (and OPENAI_API_KEY, KODAH_MODEL) and restart it',
    );
  }
  let repo = await probe.probe(input.repoUrl, { accountId });
  let resolved = resolveRef(repo.refs, input.ref);
  if (!resolved) {
    // The answer may be cached from before a push (CI submits the branch it just pushed): ask again.
    repo = await probe.probe(input.repoUrl, { accountId, fresh: true });
    resolved = resolveRef(repo.refs, input.ref);
  }
  if (!resolved) {
    const hint = /^[0-9a-f]{7,39}$/i.test(input.ref) ? ' (no branch or tag points at it: give the full 40-character sha)' : '';
    throw new KodahError('not_found', `Ref not found: ${input.ref}${hint}`, { kind: 'input' });
  }

  const jobId = input.jobId ?? randomUUID();
  const atCapacity = await queueDepth.atCapacity();
  const accepting = db.transaction(async (tx) => {
    const { rows } = await tx.query<{ outcome: Refusal | 'accepted' }>(
      'SELECT kodah_accept_job($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) AS outcome',
      [
        jobId,
        accountId,
        input.task,
        repo.target.url,
        input.ref,
        input.description,
        repo.visibility,
        input.source ?? 'api',
        resolved.sha,
        monthOf(clock.now()),
        rules.fixPriceCents,
        rules.freeFixesPerMonth,
        limits.maxRunningJobsPerAccount,
        atCapacity,
      ],
    );
    const outcome = rows[0]!.outcome;
    if (outcome !== 'accepted') throw refusal(outcome, limits.retryAfterS);
    await input.onAccepted?.(tx, { jobId, ref: resolved, repo });
    await enqueueFix(boss, tx, jobId);
  });
  await accepting.catch(async (err: unknown) => {
    throw err instanceof KodahError && err.code === 'job_in_progress' ? await jobsInProgress(db, accountId, limits) : err;
  });
  queueDepth.noteEnqueued();
  return { jobId };
}
