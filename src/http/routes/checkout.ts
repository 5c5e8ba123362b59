import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type Stripe from 'stripe';
import { z } from 'zod';
import { type CheckoutBounds, checkoutCents, startCheckout } from '../../billing/stripe-checkout.js';
import type { Database } from '../../db/database.js';
import { KodahError } from '../../lib/errors.js';
import { requireApiKey } from '../auth.js';
import { errorSchema } from '../error-schema.js';

export interface CheckoutRouteDeps {
  db: Database;
  /** Null when purchases are off (no STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET). */
  stripe: { client: Stripe; bounds: CheckoutBounds; publicUrl: string } | null;
}

/**
 * Purchases being off is the server's state, not an error in the request, and no KodahError code
 * means it: both Stripe routes answer it themselves, with what the operator does instead.
 */
export const PURCHASES_OFF =
  'Buying credits is not enabled on this server (no STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET): ' +
  'ask its operator to add credits with `npx kodah credits add --account you@example.com --usd 10.00`';

/** Answers that purchases are off here (503), and what the operator does instead. */
export function purchasesOff(reply: FastifyReply): FastifyReply {
  return reply.status(503).send({ detail: PURCHASES_OFF });
}

// checkoutCents checks the amount, so that every refusal names the operator's bounds.
const checkoutBody = z.object({ usd: z.unknown().optional().describe('US dollars, such as 10 or 12.50') });
const checkoutHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'at most 100 letters, digits, dots, dashes, underscores or colons')
    .optional(),
});
const checkoutSchema = z.object({ session_id: z.string(), url: z.string() });

/** POST /account/checkout: a Stripe Checkout session for buying credits, behind the API key. */
export const checkoutRoutes: FastifyPluginAsyncZod<CheckoutRouteDeps> = async (app, deps) => {
  const { db, stripe } = deps;
  app.addHook('onRequest', requireApiKey(db));
  app.post(
    '/account/checkout',
    {
      schema: {
        summary: 'Buy credits: a Stripe Checkout session to send the buyer to',
        description:
          'Body `{"usd": 10}`: dollars within the server\'s bounds, at most two decimals. Credits arrive when Stripe reports ' +
          'the payment. An Idempotency-Key header makes a retried request answer with the same session.',
        body: checkoutBody,
        headers: checkoutHeaders,
        response: { 200: checkoutSchema, default: errorSchema },
      },
    },
    async (request, reply) => {
      if (!stripe) return purchasesOff(reply);
      const cents = checkoutCents(request.body.usd, stripe.bounds);
      try {
        const started = await startCheckout(
          { db, stripe: stripe.client, publicUrl: stripe.publicUrl },
          request.accountId,
          cents,
          request.headers['idempotency-key'],
        );
        return { session_id: started.sessionId, url: started.url };
      } catch (err) {
        if (err instanceof KodahError) throw err;
        // By its type, not its class: the SDK loads only where Stripe is configured.
        if ((err as { type?: unknown }).type === 'StripeIdempotencyError')
          throw new KodahError('conflict', 'Idempotency-Key was already used for a checkout of another amount', { kind: 'input' });
        // Stripe's own words may name our key or account settings: they go to the log, not the caller.
        request.log.error({ err }, 'stripe did not create a checkout session');
        return reply.status(502).send({ detail: 'Stripe did not create the checkout session: try again in a minute' });
      }
    },
  );
};
