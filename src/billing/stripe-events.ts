import type Stripe from 'stripe';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { Logger } from '../lib/logger.js';
import { closePurchase, creditPurchase, findPurchase } from './purchases.js';
import { REVERSAL_EVENTS, type ReversalEventOutcome, handleReversalEvent } from './stripe-reversal-events.js';

/** The part of a Checkout Session object Kodah reads; the rest of Stripe's object passes through. */
const sessionSchema = z.object({
  id: z.string().min(1),
  payment_status: z.string(),
  amount_total: z.number().int().nullable(),
  currency: z.string().nullable(),
  client_reference_id: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  // A string in webhooks; the object when a reader expanded it.
  payment_intent: z
    .union([z.string(), z.object({ id: z.string() }).transform((o) => o.id)])
    .nullable()
    .optional(),
});

/** What a verified event did; every outcome is acknowledged with 200, since Stripe retries anything else. */
export type StripeEventOutcome =
  | 'credited'
  | 'already_paid'
  | 'unpaid'
  | 'unknown_session'
  | 'mismatch'
  | 'expired'
  | 'failed'
  | 'malformed'
  | 'ignored'
  | ReversalEventOutcome;

const PAID_EVENTS = new Set(['checkout.session.completed', 'checkout.session.async_payment_succeeded']);
const CLOSED_EVENTS: Record<string, 'expired' | 'failed'> = {
  'checkout.session.expired': 'expired',
  'checkout.session.async_payment_failed': 'failed',
};

/**
 * Applies one event whose signature was verified. Credits only a session Kodah created, only once
 * it is paid, and only with the amount and account Kodah recorded: an event that disagrees with
 * the record is refused and logged, never believed (the signing secret may have leaked, or a
 * dashboard edit may have changed the session). Refunds and disputes of a purchase's charge take
 * its credits back (stripe-reversal-events.ts).
 */
export async function handleStripeEvent(
  db: Database,
  event: Stripe.Event,
  log: Pick<Logger, 'info' | 'error'>,
): Promise<StripeEventOutcome> {
  if (REVERSAL_EVENTS.has(event.type)) return handleReversalEvent(db, event, log);
  const closes = CLOSED_EVENTS[event.type];
  if (!PAID_EVENTS.has(event.type) && !closes) return 'ignored';
  const parsed = sessionSchema.safeParse(event.data.object);
  if (!parsed.success) {
    log.error({ eventId: event.id, type: event.type, issues: parsed.error.issues }, 'stripe event without a checkout session: ignored');
    return 'malformed';
  }
  const session = parsed.data;
  const purchase = await findPurchase(db, session.id);
  if (!purchase) {
    // Other integrations on the same Stripe account send their sessions here too.
    log.info({ eventId: event.id, sessionId: session.id }, 'stripe event for a session Kodah did not create: ignored');
    return 'unknown_session';
  }
  const context = { eventId: event.id, type: event.type, sessionId: session.id, accountId: purchase.accountId };
  if (closes) return (await closePurchase(db, session.id, closes)) ? closes : 'ignored';

  const problems: string[] = [];
  if (session.amount_total !== purchase.cents) problems.push(`amount_total ${session.amount_total} <> recorded ${purchase.cents} cents`);
  if (session.currency?.toLowerCase() !== 'usd') problems.push(`currency ${session.currency} <> usd`);
  if (session.client_reference_id !== purchase.accountId)
    problems.push(`client_reference_id ${session.client_reference_id} <> recorded account`);
  const metaAccount = session.metadata?.kodah_account_id;
  if (metaAccount !== undefined && metaAccount !== purchase.accountId) problems.push(`metadata account ${metaAccount} <> recorded account`);
  if (problems.length) {
    log.error({ ...context, problems }, 'stripe event disagrees with the purchase Kodah recorded: nothing credited');
    return 'mismatch';
  }
  // A completed session paid by a delayed method (a bank debit) is 'unpaid' until async_payment_succeeded.
  if (session.payment_status !== 'paid') {
    log.info({ ...context, paymentStatus: session.payment_status }, 'checkout session not paid yet: waiting');
    return 'unpaid';
  }
  const credited = await creditPurchase(db, session.id, session.payment_intent ?? null);
  if (!credited) return 'already_paid';
  log.info({ ...context, cents: credited.cents }, 'credits purchased');
  return 'credited';
}
