import type { FastifyPluginAsync } from 'fastify';
import type Stripe from 'stripe';
import { handleStripeEvent } from '../../billing/stripe-events.js';
import type { Database } from '../../db/database.js';
import { purchasesOff } from './checkout.js';

export const STRIPE_WEBHOOK_PATH = '/api/stripe/webhook';

/** Checkout events are a few KiB; anything near this is not from Stripe. */
const MAX_EVENT_BYTES = 1024 * 1024;

export interface StripeWebhookDeps {
  db: Database;
  /** Null when purchases are off. */
  stripe: { client: Stripe; webhookSecret: string } | null;
}

/**
 * Stripe's deliveries. The signature is an HMAC of the exact bytes Stripe sent, so this plugin's
 * parser keeps the body a raw Buffer (encapsulated: the rest of the API still parses JSON). An
 * unsigned or forged delivery is refused with 400; a verified one is always acknowledged with 200,
 * whatever it did, because Stripe redelivers anything else for days. A database failure is a 500,
 * so that Stripe does deliver it again.
 */
export const stripeWebhookRoutes: FastifyPluginAsync<StripeWebhookDeps> = async (app, deps) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_EVENT_BYTES }, (_req, body, done) => done(null, body));
  app.post(STRIPE_WEBHOOK_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (!deps.stripe) return purchasesOff(reply);
    const signature = request.headers['stripe-signature'];
    if (typeof signature !== 'string' || !signature) return reply.status(400).send({ detail: 'Missing Stripe-Signature header' });
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let event: Stripe.Event;
    try {
      event = deps.stripe.client.webhooks.constructEvent(raw, signature, deps.stripe.webhookSecret);
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'stripe webhook with a bad signature: refused');
      return reply.status(400).send({ detail: 'Invalid Stripe signature' });
    }
    const log = request.log.child({ stripeEventId: event.id });
    const outcome = await handleStripeEvent(deps.db, event, log);
    return reply.status(200).send({ received: true, outcome });
  });
};
