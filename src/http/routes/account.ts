import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getAccount } from '../../billing/accounts.js';
import { type CreditRules, getBalance } from '../../billing/credits.js';
import type { Queryable } from '../../db/database.js';
import { type Clock, nextMonthStart } from '../../lib/clock.js';
import { callbackSecret, rotateCallbackSecret, type CallbackSecret } from '../../jobs/callback-secret.js';
import { centsToUsd } from '../../lib/money.js';
import { requireApiKey } from '../auth.js';
import { errorSchema } from '../error-schema.js';

export interface AccountRouteDeps {
  db: Queryable;
  clock: Clock;
  rules: CreditRules;
  defaultMaxRunningJobs: number;
}

const accountSchema = z.object({
  email: z.string(),
  free_credits: z.number().int(),
  paid_balance: z.number(),
  fix_price_usd: z.number(),
  paid_balance_cents: z.number().int(),
  fix_price_cents: z.number().int(),
  free_credits_reset_at: z.string(),
  github_login: z.string().nullable(),
  running_jobs: z.number().int(),
  max_running_jobs: z.number().int(),
});

const callbackSecretSchema = z
  .object({
    secret: z.string(),
    created_at: z.string(),
    algorithm: z.literal('hmac-sha256'),
    header: z.literal('X-Kodah-Signature-256'),
  })
  .describe("The key of the HMAC-SHA256 in each callback's X-Kodah-Signature-256 header (`sha256=` and the hex digest of the raw body)");

const secretView = (s: CallbackSecret): z.infer<typeof callbackSecretSchema> => ({
  secret: s.secret,
  created_at: s.createdAt.toISOString(),
  algorithm: 'hmac-sha256',
  header: 'X-Kodah-Signature-256',
});

export const accountRoutes: FastifyPluginAsyncZod<AccountRouteDeps> = async (app, deps) => {
  const { db, clock, rules } = deps;
  // onRequest: a request without a valid key is refused before its body is even read.
  app.addHook('onRequest', requireApiKey(db));
  app.get(
    '/account',
    { schema: { summary: 'The account and its credit balance', response: { 200: accountSchema, default: errorSchema } } },
    async (request) => {
      const account = await getAccount(db, request.accountId);
      const balance = await getBalance(db, account.id, clock, rules);
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM jobs WHERE account_id = $1 AND state IN ('queued', 'running')`,
        [account.id],
      );
      return {
        email: account.email,
        free_credits: balance.freeCredits,
        paid_balance: centsToUsd(balance.paidBalanceCents),
        fix_price_usd: centsToUsd(rules.fixPriceCents),
        paid_balance_cents: balance.paidBalanceCents,
        fix_price_cents: rules.fixPriceCents,
        free_credits_reset_at: nextMonthStart(clock.now()).toISOString(),
        github_login: account.githubLogin,
        running_jobs: rows[0]!.n,
        max_running_jobs: account.maxRunningJobs ?? deps.defaultMaxRunningJobs,
      };
    },
  );

  app.get(
    '/account/callback-secret',
    {
      schema: {
        summary: "The secret that signs this account's job callbacks (made on first read)",
        response: { 200: callbackSecretSchema, default: errorSchema },
      },
    },
    async (request) => secretView(await callbackSecret(db, request.accountId)),
  );

  app.post(
    '/account/callback-secret/rotate',
    {
      schema: {
        summary: 'Replace the callback secret: deliveries from now on are signed with the new one only',
        response: { 200: callbackSecretSchema, default: errorSchema },
      },
    },
    async (request) => secretView(await rotateCallbackSecret(db, request.accountId)),
  );
};
