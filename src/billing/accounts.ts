import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from '../db/database.js';
import { type Clock, monthOf } from '../lib/clock.js';
import { KodahError } from '../lib/errors.js';

export interface Account {
  id: string;
  email: string;
  githubLogin: string | null;
  githubId: number | null;
  paidBalanceCents: number;
  maxRunningJobs: number | null;
  /** May read private repositories with the operator's KODAH_GIT_TOKENS (the operator marks it). */
  usesOperatorTokens: boolean;
  createdAt: Date;
}

interface AccountRow {
  id: string;
  email: string;
  github_login: string | null;
  github_id: string | number | null;
  paid_balance_cents: number;
  max_running_jobs: number | null;
  uses_operator_tokens: boolean;
  created_at: Date;
}

const COLUMNS = 'id, email, github_login, github_id, paid_balance_cents, max_running_jobs, uses_operator_tokens, created_at';

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    email: row.email,
    githubLogin: row.github_login,
    githubId: row.github_id === null ? null : Number(row.github_id),
    paidBalanceCents: row.paid_balance_cents,
    maxRunningJobs: row.max_running_jobs,
    usesOperatorTokens: row.uses_operator_tokens,
    createdAt: new Date(row.created_at),
  };
}

const newAccountSchema = z.object({
  email: z.email(),
  githubLogin: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'a GitHub login')
    .optional(),
  githubId: z.number().int().positive().optional(),
  usesOperatorTokens: z.boolean().optional(),
});
export type NewAccount = z.infer<typeof newAccountSchema>;

export async function createAccount(db: Queryable, input: NewAccount): Promise<Account> {
  const a = newAccountSchema.parse(input);
  const { rows } = await db.query<AccountRow>(
    `INSERT INTO accounts (id, email, github_login, github_id, uses_operator_tokens) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [randomUUID(), a.email, a.githubLogin ?? null, a.githubId ?? null, a.usesOperatorTokens ?? false],
  );
  if (!rows[0]) throw new KodahError('conflict', `An account with email ${a.email} or that GitHub id already exists`);
  return toAccount(rows[0]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An account by id or by email (case-insensitive); `forUpdate` locks its row for the transaction. */
async function findAccount(db: Queryable, idOrEmail: string, forUpdate = false): Promise<Account | null> {
  const byId = UUID.test(idOrEmail);
  const { rows } = await db.query<AccountRow>(
    `SELECT ${COLUMNS} FROM accounts WHERE ${byId ? 'id = $1' : 'lower(email) = lower($1)'}${forUpdate ? ' FOR UPDATE' : ''}`,
    [idOrEmail],
  );
  return rows[0] ? toAccount(rows[0]) : null;
}

export async function getAccount(db: Queryable, idOrEmail: string, forUpdate = false): Promise<Account> {
  const account = await findAccount(db, idOrEmail, forUpdate);
  if (!account) throw new KodahError('not_found', `No account ${idOrEmail}`);
  return account;
}

/**
 * Marks or unmarks the account as one that may read private repositories with the operator's
 * KODAH_GIT_TOKENS. Nothing caches the mark: the next clone, fetch or repository check asks again.
 */
export async function setUsesOperatorTokens(db: Queryable, idOrEmail: string, on: boolean): Promise<Account> {
  const byId = UUID.test(idOrEmail);
  const { rows } = await db.query<AccountRow>(
    `UPDATE accounts SET uses_operator_tokens = $2 WHERE ${byId ? 'id = $1' : 'lower(email) = lower($1)'} RETURNING ${COLUMNS}`,
    [idOrEmail, on],
  );
  if (!rows[0]) throw new KodahError('not_found', `No account ${idOrEmail}`);
  return toAccount(rows[0]);
}

/**
 * Whether the operator marked the account to read private repositories with KODAH_GIT_TOKENS;
 * false for an id that names no account. Asked on every use of those tokens (one indexed lookup).
 */
export async function usesOperatorTokens(db: Queryable, accountId: string): Promise<boolean> {
  if (!UUID.test(accountId)) return false;
  const { rows } = await db.query<{ uses_operator_tokens: boolean }>('SELECT uses_operator_tokens FROM accounts WHERE id = $1', [
    accountId,
  ]);
  return rows[0]?.uses_operator_tokens ?? false;
}

/** How many accounts the operator marked to use KODAH_GIT_TOKENS (a start-up hint when none is). */
export async function countOperatorTokenAccounts(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM accounts WHERE uses_operator_tokens');
  return rows[0]!.n;
}

/**
 * The Kodah account of a GitHub user or organisation, created on first sight (the App's
 * installations use it) so their fixes follow the same credit rules as API jobs. The e-mail is GitHub's no-reply address for the
 * owner: unique, and never anybody's inbox.
 */
export async function accountForGitHubOwner(tx: Queryable, owner: { id: number; login: string }): Promise<string> {
  const email = `${owner.id}+${owner.login}@users.noreply.github.com`;
  const { rows } = await tx.query<{ id: string }>(
    `WITH created AS (
       INSERT INTO accounts (id, email, github_login, github_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING id)
     SELECT id FROM created UNION ALL SELECT id FROM accounts WHERE github_id = $4 LIMIT 1`,
    [randomUUID(), email, owner.login, owner.id],
  );
  if (!rows[0]) throw new Error(`no account for GitHub owner ${owner.login} (${owner.id}): its e-mail belongs to another account`);
  // Logins change; the id does not.
  await tx.query('UPDATE accounts SET github_login = $2 WHERE id = $1 AND github_login IS DISTINCT FROM $2', [rows[0].id, owner.login]);
  return rows[0].id;
}

/**
 * The account of a person signing in with GitHub, and whether it was made now. Found by GitHub id
 * first (an account the App made for them is adopted, not duplicated), then by their verified
 * e-mail on an account not yet linked to GitHub (one the operator made); else created. An App-made
 * account's placeholder address gives way to the verified one when no other account holds it.
 */
export async function accountForGitHubUser(
  tx: Queryable,
  user: { id: number; login: string; email: string | null },
): Promise<{ id: string; created: boolean }> {
  const noreply = `${user.id}+${user.login}@users.noreply.github.com`;
  const email = user.email ?? noreply;
  const emailFree = async () =>
    (await tx.query('SELECT 1 FROM accounts WHERE lower(email) = lower($1) AND github_id IS DISTINCT FROM $2', [email, user.id])).rows
      .length === 0;
  const byId = await tx.query<{ id: string; email: string }>('SELECT id, email FROM accounts WHERE github_id = $1 FOR UPDATE', [user.id]);
  if (byId.rows[0]) {
    const { id } = byId.rows[0];
    const placeholder = byId.rows[0].email.endsWith('@users.noreply.github.com');
    const newEmail = placeholder && user.email && (await emailFree()) ? user.email : byId.rows[0].email;
    await tx.query('UPDATE accounts SET github_login = $2, email = $3 WHERE id = $1', [id, user.login, newEmail]);
    return { id, created: false };
  }
  if (user.email) {
    const linked = await tx.query<{ id: string }>(
      'UPDATE accounts SET github_id = $2, github_login = $3 WHERE lower(email) = lower($1) AND github_id IS NULL RETURNING id',
      [user.email, user.id, user.login],
    );
    if (linked.rows[0]) return { id: linked.rows[0].id, created: false };
  }
  // The verified address may belong to an account linked to another GitHub user: keep theirs.
  const account = await createAccount(tx, {
    email: (await emailFree()) ? email : noreply,
    githubLogin: user.login,
    githubId: user.id,
  });
  return { id: account.id, created: true };
}

/** One line of `kodah accounts list`. */
export interface AccountSummary {
  id: string;
  email: string;
  githubLogin: string | null;
  paidBalanceCents: number;
  /** Free fixes left this calendar month (UTC), by the rule of getBalance. */
  freeCredits: number;
  /** Keys not revoked. */
  activeKeys: number;
  createdAt: Date;
}

/**
 * Every account, oldest first, with its balances and how many keys it holds: how an operator
 * finds the account the App made for an installation's owner. One query, whatever the count.
 */
export async function listAccounts(db: Queryable, clock: Clock, freeFixesPerMonth: number): Promise<AccountSummary[]> {
  const { rows } = await db.query<{
    id: string;
    email: string;
    github_login: string | null;
    paid_balance_cents: number;
    free_ledger: number;
    granted: boolean;
    active_keys: number;
    created_at: Date;
  }>(
    `SELECT a.id, a.email, a.github_login, a.paid_balance_cents, a.created_at,
            COALESCE(f.amount, 0)::int AS free_ledger, COALESCE(f.granted, false) AS granted,
            (SELECT count(*)::int FROM api_keys k WHERE k.account_id = a.id AND k.revoked_at IS NULL) AS active_keys
       FROM accounts a
       LEFT JOIN (SELECT account_id, SUM(amount) AS amount, bool_or(kind = 'monthly_grant') AS granted
                    FROM ledger WHERE pool = 'free' AND period = $1 GROUP BY account_id) f ON f.account_id = a.id
      ORDER BY a.created_at, a.id`,
    [monthOf(clock.now())],
  );
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    githubLogin: r.github_login,
    paidBalanceCents: r.paid_balance_cents,
    // As in getBalance: the month's grant is written with its first debit, so until then it is whole.
    freeCredits: r.free_ledger + (r.granted ? 0 : freeFixesPerMonth),
    activeKeys: r.active_keys,
    createdAt: new Date(r.created_at),
  }));
}
