import type Stripe from 'stripe';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { Logger } from '../lib/logger.js';
import { type Reversal, type ReversalOutcome, applyReversal } from './purchase-reversals.js';

/** An id Stripe sends as a string, or as the object when expanded. */
const idOf = z.union([z.string().min(1), z.object({ id: z.string().min(1) }).transform((o) => o.id)]);

/** The part of a Charge a refund event is read by. */
const chargeSchema = z.object({
  id: z.string().min(1),
  amount: z.number().int().min(0),
  amount_refunded: z.number().int().min(0),
  currency: z.string(),
  payment_intent: idOf.nullable().optional(),
});

/** The part of a Dispute its events are read by. */
const disputeSchema = z.object({
  id: z.string().min(1),
  amount: z.number().int().min(0),
  currency: z.string(),
  status: z.string(),
  payment_intent: idOf.nullable().optional(),
});

export const REVERSAL_EVENTS = new Set(['charge.refunded', 'charge.dispute.created', 'charge.dispute.closed']);

/** A closed dispute's statuses that leave the money with the seller: what its opening took comes back. */
const WON = new Set(['won', 'warning_closed']);

export type ReversalEventOutcome = ReversalOutcome | 'malformed' | 'mismatch' | 'ignored';

/**
 * A verified refund or dispute event (one of REVERSAL_EVENTS): takes the purchase's credits back,
 * or gives them back when Kodah won the dispute. A charge Kodah did not sell credits for (no
 * purchase paid with its payment intent) changes nothing.
 */
export async function handleReversalEvent(
  db: Database,
  event: Stripe.Event,
  log: Pick<Logger, 'info' | 'error'>,
): Promise<ReversalEventOutcome> {
  let reversal: Reversal | null;
  const context = { eventId: event.id, type: event.type };
  if (event.type === 'charge.refunded') {
    const charge = chargeSchema.safeParse(event.data.object);
    if (!charge.success) return malformed(log, context, charge.error);
    const c = charge.data;
    if (c.currency.toLowerCase() !== 'usd') return mismatch(log, { ...context, chargeId: c.id, currency: c.currency });
    reversal = c.payment_intent
      ? { kind: 'refund', paymentIntent: c.payment_intent, stripeId: event.id, cents: c.amount_refunded, chargeCents: c.amount }
      : null;
  } else {
    const dispute = disputeSchema.safeParse(event.data.object);
    if (!dispute.success) return malformed(log, context, dispute.error);
    const d = dispute.data;
    if (d.currency.toLowerCase() !== 'usd') return mismatch(log, { ...context, disputeId: d.id, currency: d.currency });
    // A dispute lost keeps what its opening took; still open, nothing moves.
    if (event.type === 'charge.dispute.closed' && !WON.has(d.status)) return 'ignored';
    const kind = event.type === 'charge.dispute.created' ? 'dispute' : 'dispute_won';
    reversal = d.payment_intent ? { kind, paymentIntent: d.payment_intent, stripeId: d.id, cents: d.amount } : null;
  }
  if (!reversal) {
    log.info(context, 'stripe charge event without a payment intent: not a Kodah purchase, ignored');
    return 'unknown_charge';
  }
  const result = await applyReversal(db, reversal);
  const fields = { ...context, paymentIntent: reversal.paymentIntent, ...result };
  if (result.outcome === 'unknown_charge') log.info(fields, 'stripe charge event for a payment that is not a Kodah purchase: ignored');
  else if (result.outcome === 'already_reversed') log.info(fields, 'stripe reversal already applied');
  else log.info(fields, result.outcome === 'restored' ? 'dispute won: credits given back' : 'payment reversed: credits taken back');
  return result.outcome;
}

function malformed(log: Pick<Logger, 'error'>, context: object, error: z.ZodError): 'malformed' {
  log.error({ ...context, issues: error.issues }, 'stripe charge event without the fields Kodah reads: ignored');
  return 'malformed';
}

function mismatch(log: Pick<Logger, 'error'>, context: object): 'mismatch' {
  // Kodah sells credits in US dollars only: another currency is not one of its payments.
  log.error(context, 'stripe charge event in another currency than usd: nothing taken back');
  return 'mismatch';
}
