import Stripe from 'stripe';
import type { Config } from '../config.js';

/** The Stripe SDK for the configured key, pointed at STRIPE_API_BASE when set (a fake in tests). */
export function createStripeClient(settings: NonNullable<Config['stripe']>): Stripe {
  return new Stripe(settings.secretKey, {
    ...(settings.api ?? {}),
    // Retries resend the same idempotency key, so a retried create never makes a second session.
    maxNetworkRetries: 2,
    timeout: 20_000,
    appInfo: { name: 'Kodah' },
  });
}
