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
    case 'job_in_progress':
      return new KodahError('job_in_progress', 'Job already in progress', { kind: 'input', retryAfterS });
    case 'at_capacity':
      return new KodahError('at_capacity', 'Server at capacity', { kind: 'input', retryAfterS });
  }
}

/**
 * Accepts a job: checks the repository and ref, then in one transaction takes the credit, records
 * the job and enqueues it (kodah_accept_job holds the account's row lock, so concurrent
 * submissions of one account queue up there and none can spend a credit twice).
 * The answers come in this order, first failure wins:
 *   422 bad input → 404 repository or ref not found → 402 private repo without paid credits →
 *   402 no credits remaining → 429 job already in progress → 429 server at capacity.
 * Credits come before the limits because waiting never cures a 402, while a 429 says "retry".
 */
export async function submitJob(deps: SubmitJobDeps, accountId: string, input: SubmitJobInput): Promise<{ jobId: string }> {
  const { db, boss, probe, queueDepth, clock, rules, limits } = deps;
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
  await db.transaction(async (tx) => {
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
  queueDepth.noteEnqueued();
  return { jobId };
}
