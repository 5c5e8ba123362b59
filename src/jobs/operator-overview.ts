import type { CreditRules } from '../billing/credits.js';
import { addCredits } from '../billing/credits.js';
import { getAccount } from '../billing/accounts.js';
import type { Queryable } from '../db/database.js';
import { type Clock, monthOf } from '../lib/clock.js';
import { KodahError } from '../lib/errors.js';

/** One account as the operator sees it. */
export interface AccountOverview {
  id: string;
  email: string;
  githubLogin: string | null;
  paidBalanceCents: number;
  /** Free fixes left this calendar month (UTC), by the same rule as getBalance. */
  freeLeft: number;
  jobsThisMonth: number;
  createdAt: Date;
}

/** One job of any account, newest first. */
export interface JobOverview {
  id: string;
  email: string;
  githubLogin: string | null;
  state: string;
  stage: string | null;
  source: string;
  repoUrl: string;
  createdAt: Date;
}

/** Jobs waiting for a worker and jobs a worker holds, across all accounts. */
export interface QueueCounts {
  queued: number;
  running: number;
}

/** The newest accounts with their balances and this month's use, in one query. */
export async function accountsOverview(db: Queryable, clock: Clock, rules: CreditRules, limit: number): Promise<AccountOverview[]> {
  const now = clock.now();
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const { rows } = await db.query<{
    id: string;
    email: string;
    github_login: string | null;
    paid: number;
    free: number;
    granted: boolean;
    jobs: number;
    created_at: Date;
  }>(
    `SELECT a.id, a.email, a.github_login, a.paid_balance_cents AS paid, a.created_at,
            COALESCE(f.free, 0)::int AS free, COALESCE(f.granted, false) AS granted,
            (SELECT count(*)::int FROM jobs j WHERE j.account_id = a.id AND j.created_at >= $2) AS jobs
       FROM accounts a
       LEFT JOIN (SELECT account_id, SUM(amount) AS free, bool_or(kind = 'monthly_grant') AS granted
                    FROM ledger WHERE pool = 'free' AND period = $1 GROUP BY account_id) f ON f.account_id = a.id
      ORDER BY a.created_at DESC, a.id LIMIT $3`,
    [monthOf(now), monthStart, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    githubLogin: r.github_login,
    paidBalanceCents: r.paid,
    freeLeft: r.free + (r.granted ? 0 : rules.freeFixesPerMonth),
    jobsThisMonth: r.jobs,
    createdAt: new Date(r.created_at),
  }));
}

export async function recentJobsOverview(db: Queryable, limit: number): Promise<JobOverview[]> {
  const { rows } = await db.query<{
    id: string;
    email: string;
    github_login: string | null;
    state: string;
    stage: string | null;
    source: string;
    repo_url: string;
    created_at: Date;
  }>(
    `SELECT j.id, a.email, a.github_login, j.state, j.stage, j.source, j.repo_url, j.created_at
       FROM jobs j JOIN accounts a ON a.id = j.account_id
      ORDER BY j.created_at DESC, j.id DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    githubLogin: r.github_login,
    state: r.state,
    stage: r.stage,
    source: r.source,
    repoUrl: r.repo_url,
    createdAt: new Date(r.created_at),
  }));
}

export async function queueCounts(db: Queryable): Promise<QueueCounts> {
  const { rows } = await db.query<{ queued: number; running: number }>(
    `SELECT count(*) FILTER (WHERE state = 'queued')::int AS queued, count(*) FILTER (WHERE state = 'running')::int AS running
       FROM jobs WHERE state IN ('queued', 'running')`,
  );
  return rows[0] ?? { queued: 0, running: 0 };
}

/**
 * An operator's grant from the operator page: a `grant` row of the ledger (addCredits, as `credits
 * add` writes) whose note carries the form's one-time id. Under the account's row lock, so a form
 * sent twice (a double click, a replayed request) grants once; resolves to whether it granted.
 */
export async function grantOnce(tx: Queryable, accountId: string, cents: number, grantId: string, by: string): Promise<boolean> {
  if (!/^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(grantId)) throw new KodahError('invalid_input', 'A grant needs its form id');
  const account = await getAccount(tx, accountId, true);
  // The form's id alone decides (whoever sends it again); a UUID holds no LIKE wildcards.
  const mark = `operator page grant ${grantId.toLowerCase()} `;
  const { rows } = await tx.query(`SELECT 1 FROM ledger WHERE account_id = $1 AND kind = 'grant' AND note LIKE $2`, [
    account.id,
    `${mark}%`,
  ]);
  if (rows.length) return false;
  await addCredits(tx, account.id, cents, 'grant', `${mark}by ${by}`);
  return true;
}
