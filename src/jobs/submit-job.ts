import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { getAccount } from '../billing/accounts.js';
import { chooseCharge, type CreditRules, debit, getBalance } from '../billing/credits.js';
import type { Database } from '../db/database.js';
import type { Clock } from '../lib/clock.js';
import { KodahError } from '../lib/errors.js';
import { type RepositoryProbe, resolveRef } from '../git/repository-probe.js';
import { enqueueFix } from './queue.js';

export interface SubmitJobInput {
  task: 'fix';
  repoUrl: string;
  ref: string;
  description: string;
  source?: string;
}

export interface SubmitJobDeps {
  db: Database;
  boss: PgBoss;
  probe: RepositoryProbe;
  clock: Clock;
  rules: CreditRules;
  limits: { maxRunningJobsPerAccount: number; maxQueuedJobs: number; retryAfterS: number };
}

/**
 * Accepts a job: checks the repository and ref, then in one transaction (holding the account's
 * row lock, so concurrent submissions of one account queue up here) takes the credit, records the
 * job and enqueues it. The checks answer in this order, first failure wins:
 *   422 bad input → 404 repository or ref not found → 402 private repo without paid credits →
 *   402 no credits remaining → 429 job already in progress → 429 server at capacity.
 * Credits come before the limits because waiting never cures a 402, while a 429 says "retry".
 */
export async function submitJob(deps: SubmitJobDeps, accountId: string, input: SubmitJobInput): Promise<{ jobId: string }> {
  const { db, boss, probe, clock, rules, limits } = deps;
  const repo = await probe.probe(input.repoUrl);
  const resolved = resolveRef(repo.refs, input.ref);
  if (!resolved) throw new KodahError('not_found', `Ref not found: ${input.ref}`, { kind: 'input' });

  const jobId = randomUUID();
  await db.transaction(async (tx) => {
    const account = await getAccount(tx, accountId, true);
    const charge = chooseCharge(await getBalance(tx, accountId, clock, rules), repo.visibility, rules);

    const maxRunning = account.maxRunningJobs ?? limits.maxRunningJobsPerAccount;
    const { rows: active } = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM jobs WHERE account_id = $1 AND state IN ('queued', 'running')`,
      [accountId],
    );
    if (active[0]!.n >= maxRunning) {
      throw new KodahError('job_in_progress', 'Job already in progress', { kind: 'input', retryAfterS: limits.retryAfterS });
    }
    // Bounded count: the answer only matters up to the limit.
    const { rows: waiting } = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM jobs WHERE state = 'queued' LIMIT $1) q`,
      [limits.maxQueuedJobs],
    );
    if (waiting[0]!.n >= limits.maxQueuedJobs) {
      throw new KodahError('at_capacity', 'Server at capacity', { kind: 'input', retryAfterS: limits.retryAfterS });
    }

    await tx.query(
      `INSERT INTO jobs (id, account_id, task, repo_url, ref, description, visibility, source, state, stage, commit_sha)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 'waiting for a worker', $9)`,
      [jobId, accountId, input.task, repo.target.url, input.ref, input.description, repo.visibility, input.source ?? 'api', resolved.sha],
    );
    await debit(tx, accountId, jobId, charge, rules);
    await enqueueFix(boss, tx, jobId);
  });
  return { jobId };
}
