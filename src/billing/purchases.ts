import type { Database, Queryable } from '../db/database.js';
import { addCredits } from './credits.js';

/** One Stripe Checkout session Kodah created, and where it stands. */
export interface Purchase {
  sessionId: string;
  accountId: string;
  cents: number;
  state: 'open' | 'paid' | 'expired' | 'failed';
  createdAt: Date;
  paidAt: Date | null;
}

interface PurchaseRow {
  session_id: string;
  account_id: string;
  cents: number;
  state: Purchase['state'];
  created_at: Date;
  paid_at: Date | null;
}

const COLUMNS = 'session_id, account_id, cents, state, created_at, paid_at';

function toPurchase(row: PurchaseRow): Purchase {
  return {
    sessionId: row.session_id,
    accountId: row.account_id,
    cents: row.cents,
    state: row.state,
    createdAt: new Date(row.created_at),
    paidAt: row.paid_at === null ? null : new Date(row.paid_at),
  };
}

/**
 * Records a session Kodah just created. A repeated request with the same idempotency key gets the
 * same session back from Stripe, so a second insert of it is a no-op.
 */
export async function recordPurchase(db: Queryable, sessionId: string, accountId: string, cents: number): Promise<void> {
  await db.query('INSERT INTO purchases (session_id, account_id, cents) VALUES ($1, $2, $3) ON CONFLICT (session_id) DO NOTHING', [
    sessionId,
    accountId,
    cents,
  ]);
}

/** The purchase of a session, or null when Kodah did not create it. */
export async function findPurchase(db: Queryable, sessionId: string): Promise<Purchase | null> {
  const { rows } = await db.query<PurchaseRow>(`SELECT ${COLUMNS} FROM purchases WHERE session_id = $1`, [sessionId]);
  return rows[0] ? toPurchase(rows[0]) : null;
}

/**
 * Marks the session paid and credits the cents recorded when Kodah created it, in one
 * transaction. Exactly once: the conditional update lets one delivery through, and a concurrent
 * one waits on the row lock and then finds it paid. Resolves to the purchase it credited, or null.
 */
export async function creditPurchase(db: Database, sessionId: string, paymentIntent: string | null): Promise<Purchase | null> {
  return db.transaction(async (tx) => {
    // The payment intent is how a later refund or dispute of the charge finds this purchase.
    const { rows } = await tx.query<PurchaseRow>(
      `UPDATE purchases SET state = 'paid', paid_at = now(), payment_intent = COALESCE(payment_intent, $2)
        WHERE session_id = $1 AND state <> 'paid' RETURNING ${COLUMNS}`,
      [sessionId, paymentIntent],
    );
    const row = rows[0];
    if (!row) {
      // A redelivery of a session paid before its payment intent was kept (migration 012) fills it in.
      if (paymentIntent) {
        await tx.query('UPDATE purchases SET payment_intent = $2 WHERE session_id = $1 AND payment_intent IS NULL', [
          sessionId,
          paymentIntent,
        ]);
      }
      return null;
    }
    await addCredits(tx, row.account_id, row.cents, 'purchase', `Stripe Checkout ${sessionId}`);
    return toPurchase(row);
  });
}

/** Closes a session that will never be paid (expired, or its delayed payment failed); a paid one stays paid. */
export async function closePurchase(db: Queryable, sessionId: string, state: 'expired' | 'failed'): Promise<boolean> {
  const { rows } = await db.query(`UPDATE purchases SET state = $2 WHERE session_id = $1 AND state = 'open' RETURNING 1`, [
    sessionId,
    state,
  ]);
  return rows.length > 0;
}
