import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { getAccount } from '../billing/accounts.js';
import type { CreditRules } from '../billing/credits.js';
import { accountsOverview, grantOnce, queueCounts, recentJobsOverview } from '../jobs/operator-overview.js';
import type { Clock } from '../lib/clock.js';
import { KodahError } from '../lib/errors.js';
import { formatUsd, parseUsd } from '../lib/money.js';
import { adminPage } from './admin-page.js';
import { HIDDEN, type PageKit } from './page-kit.js';

export interface AdminDeps {
  kit: PageKit;
  /** KODAH_ADMINS, lower case. */
  admins: readonly string[];
  clock: Clock;
  rules: CreditRules;
  maxQueuedJobs: number;
  status: { githubApp: boolean; signIn: boolean; purchases: boolean; model: boolean };
}

/** How many accounts and jobs the page lists, newest first. */
const ROWS = 200;
const grantForm = z.object({
  account: z.uuid(),
  grant: z.uuid(),
  usd: z.string().max(32),
});

/**
 * The operator page (/admin.html) and its grant form, for the GitHub logins in KODAH_ADMINS. To
 * anyone else, signed in or not, both answer exactly as an address that does not exist: the
 * page's existence is nobody else's business. The admin check comes before the CSRF check for
 * that reason; the post is then held to the same origin and CSRF rules as every other form.
 */
export const adminRoutes: FastifyPluginAsync<AdminDeps> = async (app, deps) => {
  const { kit } = deps;
  const admins = new Set(deps.admins);

  /** The admin's session and login, or null for everyone else. */
  const adminOf = async (request: FastifyRequest) => {
    if (admins.size === 0) return null;
    const session = await kit.pageSession(request);
    if (!session) return null;
    const account = await getAccount(kit.db, session.accountId);
    const login = account.githubLogin?.toLowerCase();
    return login && admins.has(login) ? { session, login: account.githubLogin! } : null;
  };

  app.get('/admin.html', HIDDEN, async (request, reply) => {
    const admin = await adminOf(request);
    if (!admin) return reply.callNotFound();
    const [accounts, jobs, queue] = await Promise.all([
      accountsOverview(kit.db, deps.clock, deps.rules, ROWS),
      recentJobsOverview(kit.db, ROWS),
      queueCounts(kit.db),
    ]);
    const granted =
      typeof (request.query as { granted?: unknown }).granted === 'string' ? (request.query as { granted: string }).granted : null;
    return kit.page(
      reply,
      adminPage({
        operator: admin.login,
        csrf: kit.csrf(admin.session.id),
        accounts,
        grantIds: new Map(accounts.map((a) => [a.id, randomUUID()])),
        jobs,
        queue,
        maxQueuedJobs: deps.maxQueuedJobs,
        status: deps.status,
        // Only a well-formed amount is echoed: the page never repeats free text from the address.
        granted: granted && /^\$\d{1,7}\.\d{2}$/.test(granted) ? granted : null,
      }),
    );
  });

  app.post('/admin/grant', HIDDEN, async (request, reply) => {
    const admin = await adminOf(request);
    if (!admin) return reply.callNotFound();
    await kit.postedSession(request);
    const form = grantForm.safeParse(request.body);
    if (!form.success) throw new KodahError('invalid_input', 'The grant form is incomplete: reload the operator page and try again.');
    let cents: number;
    try {
      cents = parseUsd(form.data.usd);
    } catch (err) {
      throw new KodahError('invalid_input', (err as Error).message);
    }
    if (cents <= 0) throw new KodahError('invalid_input', 'Grant a positive amount, such as 10 or 12.50.');
    const { account, grant } = form.data;
    const done = await kit.db.transaction((tx) => grantOnce(tx, account, cents, grant, admin.login));
    request.log.info(
      { accountId: account, cents, by: admin.login, done },
      done ? 'credits granted on the operator page' : 'grant form sent again: ignored',
    );
    return reply.redirect(`/admin.html?granted=${encodeURIComponent(formatUsd(cents))}`, 303);
  });
};
