import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import type { Queryable } from '../db/database.js';
import { KodahError } from '../lib/errors.js';
import { formatUsd, parseUsd } from '../lib/money.js';
import { recordPurchase } from './purchases.js';

/** The operator's bounds on one purchase, in cents. */
export interface CheckoutBounds {
  minCents: number;
  maxCents: number;
}

/** What people see on Stripe's page and their receipt. */
const PRODUCT_NAME = 'Kodah credits';

/** Where Stripe sends the buyer back to, under KODAH_PUBLIC_URL (the dashboard of the contract). */
const SUCCESS_PATH = '/dashboard.html?purchase=success&session_id={CHECKOUT_SESSION_ID}';
const CANCEL_PATH = '/dashboard.html?purchase=cancelled';

/**
 * A requested amount in dollars as cents: a number (or numeric string) with at most two decimals
 * within the operator's bounds; otherwise an invalid_input error that names the bounds.
 */
export function checkoutCents(usd: unknown, bounds: CheckoutBounds): number {
  const range = `from ${formatUsd(bounds.minCents)} to ${formatUsd(bounds.maxCents)}`;
  const refuse = (why: string) =>
    new KodahError('invalid_input', `usd: ${why}; buy ${range} at once, such as {"usd": 10}`, { kind: 'input' });
  // String(1e21) is "1e+21" and String(0.1 + 0.2) has 17 decimals: parseUsd refuses both.
  if ((typeof usd !== 'number' || !Number.isFinite(usd)) && typeof usd !== 'string') throw refuse('must be an amount in US dollars');
  let cents: number;
  try {
    cents = parseUsd(String(usd));
  } catch {
    throw refuse('must be a positive amount in US dollars with at most two decimals');
  }
  if (cents < bounds.minCents || cents > bounds.maxCents) throw refuse(`${formatUsd(cents)} is outside the bounds`);
  return cents;
}

export interface CheckoutDeps {
  db: Queryable;
  stripe: Stripe;
  /** KODAH_PUBLIC_URL, without a trailing slash. */
  publicUrl: string;
}

/** A Checkout session Kodah created: where to send the buyer. */
export interface CheckoutStarted {
  sessionId: string;
  url: string;
}

/**
 * Creates a Stripe Checkout session for `cents` of credits and records it, so that the webhook
 * credits this session (and only its recorded amount) to this account. `requestKey` (the
 * caller's Idempotency-Key) makes a retried request answer with the same session.
 */
export async function startCheckout(deps: CheckoutDeps, accountId: string, cents: number, requestKey?: string): Promise<CheckoutStarted> {
  const metadata = { kodah_account_id: accountId, kodah_cents: String(cents) };
  const session = await deps.stripe.checkout.sessions.create(
    {
      mode: 'payment',
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: 'usd',
            unit_amount: cents,
            product_data: { name: PRODUCT_NAME, description: `${formatUsd(cents)} of credit for Kodah fixes` },
          },
        },
      ],
      client_reference_id: accountId,
      metadata,
      payment_intent_data: { metadata },
      success_url: `${deps.publicUrl}${SUCCESS_PATH}`,
      cancel_url: `${deps.publicUrl}${CANCEL_PATH}`,
    },
    // Scoped to the account: one account's key can never return another account's session.
    { idempotencyKey: `kodah-checkout-${accountId}-${requestKey ?? randomUUID()}` },
  );
  if (!session.url) throw new KodahError('internal', `Stripe created checkout session ${session.id} without a URL`);
  await recordPurchase(deps.db, session.id, accountId, cents);
  return { sessionId: session.id, url: session.url };
}
