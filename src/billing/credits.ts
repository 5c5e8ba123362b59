import type { Queryable } from '../db/database.js';
import { type Clock, monthOf } from '../lib/clock.js';
import { KodahError } from '../lib/errors.js';

export interface CreditRules {
  fixPriceCents: number;
  freeFixesPerMonth: number;
}

export interface Balance {
  /** Free fixes left this calendar month (UTC). */
  freeCredits: number;
  paidBalanceCents: number;
  period: string;
}

/**
 * The account's balance. Debits happen in kodah_accept_job (migration 002), which applies the same
 * rule: this month's free grant is written to the ledger with the month's first
 * debit, so until then it counts as the full monthly amount without any write on a read.
 */
export async function getBalance(db: Queryable, accountId: string, clock: Clock, rules: CreditRules): Promise<Balance> {
  const period = monthOf(clock.now());
  const { rows } = await db.query<{ paid: number; free: number; granted: boolean }>(
    `SELECT a.paid_balance_cents AS paid,
            COALESCE(SUM(l.amount), 0)::int AS free,
            COALESCE(bool_or(l.kind = 'monthly_grant'), false) AS granted
       FROM accounts a
       LEFT JOIN ledger l ON l.account_id = a.id AND l.pool = 'free' AND l.period = $2
      WHERE a.id = $1
      GROUP BY a.id`,
    [accountId, period],
  );
  const row = rows[0];
  if (!row) throw new KodahError('not_found', `No account ${accountId}`);
  return {
    freeCredits: row.free + (row.granted ? 0 : rules.freeFixesPerMonth),
    paidBalanceCents: row.paid,
    period,
  };
}

/**
 * Gives back what a job was charged, into the pool (and month) it came from. Exactly once: the
 * ledger's unique (job, refund) index makes a second call a no-op. Resolves to whether it refunded.
 */
export async function refund(tx: Queryable, jobId: string, note: string): Promise<boolean> {
  const { rows } = await tx.query<{ account_id: string; pool: 'free' | 'paid'; amount: number }>(
    `INSERT INTO ledger (account_id, job_id, kind, pool, amount, period, note)
     SELECT account_id, job_id, 'refund', pool, -amount, period, $2 FROM ledger WHERE job_id = $1 AND kind = 'debit'
     ON CONFLICT DO NOTHING
     RETURNING account_id, pool, amount`,
    [jobId, note],
  );
  const entry = rows[0];
  if (!entry) return false;
  if (entry.pool === 'paid') {
    await tx.query('UPDATE accounts SET paid_balance_cents = paid_balance_cents + $2 WHERE id = $1', [entry.account_id, entry.amount]);
  }
  return true;
}

/** Adds paid credits (a purchase, or an operator's grant). */
export async function addCredits(
  tx: Queryable,
  accountId: string,
  cents: number,
  kind: 'purchase' | 'grant',
  note?: string,
): Promise<void> {
  if (!Number.isInteger(cents) || cents <= 0) throw new KodahError('invalid_input', 'Credits must be a positive number of cents');
  await tx.query(`INSERT INTO ledger (account_id, kind, pool, amount, note) VALUES ($1, $2, 'paid', $3, $4)`, [
    accountId,
    kind,
    cents,
    note ?? null,
  ]);
  await tx.query('UPDATE accounts SET paid_balance_cents = paid_balance_cents + $2 WHERE id = $1', [accountId, cents]);
}

/** One line of the append-only credit ledger, as the operator reads it. */
export interface LedgerEntry {
  kind: 'monthly_grant' | 'purchase' | 'grant' | 'debit' | 'refund' | 'purchase_refund' | 'dispute' | 'dispute_won';
  pool: 'free' | 'paid';
  /** Whole fixes in the free pool, cents in the paid one; negative for a debit and for a purchase refunded or disputed. */
  amount: number;
  jobId: string | null;
  createdAt: Date;
}

/** The account's latest ledger entries, newest first. */
export async function recentLedger(db: Queryable, accountId: string, limit: number): Promise<LedgerEntry[]> {
  const { rows } = await db.query<{
    kind: LedgerEntry['kind'];
    pool: LedgerEntry['pool'];
    amount: number;
    job_id: string | null;
    created_at: Date;
  }>('SELECT kind, pool, amount, job_id, created_at FROM ledger WHERE account_id = $1 ORDER BY id DESC LIMIT $2', [accountId, limit]);
  return rows.map((r) => ({ kind: r.kind, pool: r.pool, amount: r.amount, jobId: r.job_id, createdAt: new Date(r.created_at) }));
}

/** Accounts whose cached paid balance disagrees with their ledger (should always be none). */
export async function ledgerMismatches(db: Queryable): Promise<Array<{ accountId: string; cached: number; ledger: number }>> {
  const { rows } = await db.query<{ id: string; cached: number; ledger: number }>(
    `SELECT a.id, a.paid_balance_cents AS cached, COALESCE(SUM(l.amount), 0)::int AS ledger
       FROM accounts a LEFT JOIN ledger l ON l.account_id = a.id AND l.pool = 'paid'
      GROUP BY a.id HAVING a.paid_balance_cents <> COALESCE(SUM(l.amount), 0)`,
  );
  return rows.map((r) => ({ accountId: r.id, cached: r.cached, ledger: r.ledger }));
}
