import type { Database, Queryable } from '../db/database.js';

/**
 * A movement of money back to the buyer (or, a dispute won, to the seller) that Stripe reported
 * for a purchase's payment:
 * - `refund`: a charge.refunded event; `cents` is the charge's cumulative amount refunded, so a
 *   redelivered or late event of an earlier partial refund takes nothing more.
 * - `dispute`: a dispute opened for `cents`.
 * - `dispute_won`: that dispute closed in the seller's favour; gives back what its opening took.
 */
export interface Reversal {
  kind: 'refund' | 'dispute' | 'dispute_won';
  paymentIntent: string;
  /** The event id for a refund, the dispute id for a dispute and its closing. */
  stripeId: string;
  cents: number;
  /** The charge's amount, for a refund: credits go back in proportion when it differs from the purchase. */
  chargeCents?: number;
}

export type ReversalOutcome = 'reversed' | 'restored' | 'already_reversed' | 'unknown_charge';

export interface ReversalResult {
  outcome: ReversalOutcome;
  /** Credits moved (positive): taken back for a refund or dispute, given back for a dispute won. */
  cents: number;
  accountId: string | null;
  sessionId: string | null;
}

const LEDGER_KIND = { refund: 'purchase_refund', dispute: 'dispute', dispute_won: 'dispute_won' } as const;
const NOTE = { refund: 'Stripe refund of', dispute: 'Stripe dispute of', dispute_won: 'Stripe dispute won for' } as const;

/** Sums of a purchase's earlier reversals, by kind (cents). */
async function reversedSoFar(tx: Queryable, sessionId: string): Promise<Record<Reversal['kind'], number>> {
  const { rows } = await tx.query<{ kind: Reversal['kind']; cents: number }>(
    'SELECT kind, COALESCE(SUM(cents), 0)::int AS cents FROM purchase_reversals WHERE session_id = $1 GROUP BY kind',
    [sessionId],
  );
  const sums = { refund: 0, dispute: 0, dispute_won: 0 };
  for (const r of rows) sums[r.kind] = r.cents;
  return sums;
}

/**
 * Applies one reversal to the purchase paid with `paymentIntent`, in one transaction: the
 * reversal's row (unique per kind and Stripe id, so however often Stripe delivers it, it moves
 * credits once), the ledger row and the balance. What a purchase loses never exceeds what it
 * credited. The balance may go below zero when the credits were already spent: see migration 012.
 */
export async function applyReversal(db: Database, reversal: Reversal): Promise<ReversalResult> {
  return db.transaction(async (tx) => {
    // The purchase's row lock orders concurrent deliveries: each sees the ones before it.
    const { rows } = await tx.query<{ session_id: string; account_id: string; cents: number }>(
      `SELECT session_id, account_id, cents FROM purchases WHERE payment_intent = $1 AND state = 'paid' FOR UPDATE`,
      [reversal.paymentIntent],
    );
    const purchase = rows[0];
    if (!purchase) return { outcome: 'unknown_charge', cents: 0, accountId: null, sessionId: null };
    const done = { outcome: 'already_reversed' as const, cents: 0, accountId: purchase.account_id, sessionId: purchase.session_id };
    const { rows: seen } = await tx.query('SELECT 1 FROM purchase_reversals WHERE kind = $1 AND stripe_id = $2', [
      reversal.kind,
      reversal.stripeId,
    ]);
    if (seen.length) return done;

    const so = await reversedSoFar(tx, purchase.session_id);
    // What the purchase still credits: its amount less what refunds and open disputes took.
    const left = Math.max(0, purchase.cents - so.refund - (so.dispute - so.dispute_won));
    let cents: number;
    if (reversal.kind === 'refund') {
      const charged = reversal.chargeCents && reversal.chargeCents > 0 ? reversal.chargeCents : purchase.cents;
      const refunded = Math.min(purchase.cents, Math.round((purchase.cents * reversal.cents) / charged));
      cents = Math.min(left, Math.max(0, refunded - so.refund));
    } else if (reversal.kind === 'dispute') {
      cents = Math.min(left, Math.max(0, reversal.cents));
    } else {
      const { rows: opened } = await tx.query<{ cents: number }>(
        `SELECT cents FROM purchase_reversals WHERE kind = 'dispute' AND stripe_id = $1 AND session_id = $2`,
        [reversal.stripeId, purchase.session_id],
      );
      // Closed before its opening was delivered: the opening, when it comes, finds itself applied and takes nothing.
      if (!opened[0]) await insertReversal(tx, purchase.session_id, { ...reversal, kind: 'dispute' }, 0);
      cents = opened[0]?.cents ?? 0;
    }
    if (!(await insertReversal(tx, purchase.session_id, reversal, cents))) return done;
    if (cents > 0) {
      const amount = reversal.kind === 'dispute_won' ? cents : -cents;
      await tx.query(`INSERT INTO ledger (account_id, kind, pool, amount, note) VALUES ($1, $2, 'paid', $3, $4)`, [
        purchase.account_id,
        LEDGER_KIND[reversal.kind],
        amount,
        `${NOTE[reversal.kind]} Stripe Checkout ${purchase.session_id} (${reversal.stripeId})`,
      ]);
      await tx.query('UPDATE accounts SET paid_balance_cents = paid_balance_cents + $2 WHERE id = $1', [purchase.account_id, amount]);
    }
    return {
      // Recorded, but with nothing left to move (a late partial refund, a dispute after a full refund).
      outcome: cents === 0 ? 'already_reversed' : reversal.kind === 'dispute_won' ? 'restored' : 'reversed',
      cents,
      accountId: purchase.account_id,
      sessionId: purchase.session_id,
    };
  });
}

/** Records the reversal; false when it was already recorded (a concurrent delivery got there first). */
async function insertReversal(tx: Queryable, sessionId: string, reversal: Pick<Reversal, 'kind' | 'stripeId'>, cents: number) {
  const { rows } = await tx.query(
    `INSERT INTO purchase_reversals (session_id, kind, stripe_id, cents) VALUES ($1, $2, $3, $4)
     ON CONFLICT (kind, stripe_id) DO NOTHING RETURNING id`,
    [sessionId, reversal.kind, reversal.stripeId, cents],
  );
  return rows.length > 0;
}
