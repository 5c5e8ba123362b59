import fastifyCookie, { type CookieSerializeOptions } from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import type { PgBoss } from 'pg-boss';
import type Stripe from 'stripe';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { accountForGitHubUser, getAccount } from '../billing/accounts.js';
import { createApiKey, listApiKeys, rotateApiKey } from '../billing/api-keys.js';
import { type CreditRules, getBalance, recentLedger } from '../billing/credits.js';
import { type CheckoutBounds, checkoutCents, startCheckout } from '../billing/stripe-checkout.js';
import type { CodeIndexDeps } from '../code-index/manage-repositories.js';
import type { Database } from '../db/database.js';
import { FIX_QUEUE } from '../jobs/fix-queue.js';
import { type JobSettled, cancelJob, getJob, listJobs, readStepsSince } from '../jobs/job-lifecycle.js';
import type { Clock } from '../lib/clock.js';
import { KodahError } from '../lib/errors.js';
import { type SignInConfig, authorizeUrl, exchangeCode, fetchGitHubUser } from './github-oauth.js';
import { LOGIN_STATE_TTL_S, consumeLoginState, createLoginState } from './login-states.js';
import { dashboardPage } from './dashboard-page.js';
import { loadDiff2HtmlAssets } from './diff2html-assets.js';
import { jobStepsView } from '../jobs/job-steps-view.js';
import { jobPage } from './job-page.js';
import { jobSummary } from './job-summary.js';
import { DASHBOARD_SCRIPT, JOB_SCRIPT } from './page-scripts.js';
import { STYLESHEET, errorPage, keyPage, registerPage } from './pages.js';
import { type AppSetup, setupRoutes } from './setup-routes.js';
import { SESSION_COOKIE, SESSION_TTL_S, createSession, csrfToken, deleteSession, sessionAccount, validCsrfToken } from './sessions.js';
import { forgetUserTokens, storeUserTokens } from './user-token.js';
import { type AdminDeps, adminRoutes } from './admin-routes.js';
import type { PageKit } from './page-kit.js';
import { repositoriesRoutes } from './repositories-routes.js';
import type { UserInstallations } from './user-installations.js';

export interface WebDeps {
  db: Database;
  clock: Clock;
  rules: CreditRules;
  /** KODAH_PUBLIC_URL: the base of the callback URL and the only origin forms are taken from. */
  publicUrl: string;
  /** Null: signing in is off, and the pages say so. */
  signIn: SignInConfig | null;
  /** Signs states and CSRF tokens, seals GitHub tokens; present whenever signIn is. */
  key: Buffer | null;
  /** Null when purchases are off: the dashboard says how the operator adds credits instead. */
  stripe: { client: Stripe; bounds: CheckoutBounds } | null;
  /** What signed-in users reach through the App's installations; null when the App or signing in is off. */
  userReach: UserInstallations | null;
  /** The App's slug (for its install link); null when the App is off. */
  appSlug: (() => Promise<string | null>) | null;
  /** GITHUB_URL. */
  githubWebUrl: string;
  /** The code index, for the repositories page's Index / Re-sync buttons. */
  codeIndex: CodeIndexDeps;
  /** The operator page's: who may see it, and what it reports. */
  operator: Omit<AdminDeps, 'kit' | 'clock' | 'rules'>;
  /** For cancelling a job from its page as the API does: the queue, and what follows a settlement. */
  boss?: PgBoss;
  onSettled?: JobSettled;
  /** Registering the GitHub App at /setup; null (no such pages) when an App was configured at start. */
  setup?: AppSetup | null;
}

/** Where Stripe's Checkout sessions live (their url). */
const STRIPE_CHECKOUT_ORIGIN = 'https://checkout.stripe.com';

/** How many jobs and ledger lines the dashboard lists (newest first). */
const DASHBOARD_ROWS = 50;
const jobParams = z.object({ id: z.uuid() });
const AFTER = 'after: the number of the last step seen (an integer ≥ 0)';
const eventsQuery = z.object({
  after: z.coerce
    .number({ error: AFTER })
    .int(AFTER)
    .min(0, AFTER)
    .max(2 ** 31 - 1, AFTER)
    .default(0),
});

/** The cookie that binds a sign-in's state to the browser that started it. */
const LOGIN_COOKIE = 'kodah_login';

const callbackQuery = z.object({
  code: z.string().max(512).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(512).optional(),
});
const form = z.object({ csrf: z.string().max(512).optional() }).loose();
const checkoutForm = z.object({ usd: z.string().max(32) });

/** What each error code is as a page; signed-out visitors are redirected, never shown 401. */
const PAGE_STATUS: Partial<Record<KodahError['code'], number>> = { invalid_input: 400, unauthorized: 403, not_found: 404, conflict: 409 };

/**
 * The pages: register, dashboard, and signing in with GitHub (sessions in cookies, CSRF tokens in
 * forms). Its own Fastify scope, so its security headers, cookies and form parsing never reach the
 * JSON API, which takes API keys only; the pages take cookies only.
 */
export const webRoutes: FastifyPluginAsync<WebDeps> = async (app, deps) => {
  const { db } = deps;
  const origin = new URL(deps.publicUrl).origin;
  const https = origin.startsWith('https:');
  const cookieBase: CookieSerializeOptions = { httpOnly: true, sameSite: 'lax', secure: https, path: '/' };
  const redirectUri = `${deps.publicUrl}/login/callback`;

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        // "Buy credits" posts here and is redirected to Stripe's hosted page: browsers hold the
        // redirect's target to form-action too.
        formAction: deps.stripe ? ["'self'", STRIPE_CHECKOUT_ORIGIN] : ["'self'"],
        frameAncestors: ["'none'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    hsts: https,
    // The callback's URL holds a code: no other site may see it as a referrer. Not no-referrer:
    // under it browsers send `Origin: null` with the pages' own form posts, which the origin check refuses.
    referrerPolicy: { policy: 'same-origin' },
  });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 4096 });

  app.addHook('onSend', async (_request, reply) => {
    // Pages show balances and keys: no cache keeps them (the static assets say otherwise themselves).
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
  app.setErrorHandler((err: FastifyError | KodahError, request, reply) => {
    let status = 500;
    let message = 'Something went wrong on our side; please try again.';
    if (err instanceof KodahError) {
      status = PAGE_STATUS[err.code] ?? (err.retryable ? 502 : 500);
      if (status < 500) message = err.message;
      else if (status === 502) message = 'GitHub did not answer as expected; please try again in a moment.';
    } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      message = err.message;
    }
    if (status >= 500) request.log.error({ err }, 'page failed');
    else request.log.info({ status, reason: err.message }, 'page refused');
    return reply
      .status(status)
      .type('text/html; charset=utf-8')
      .send(errorPage(status >= 500 ? 'Error' : 'Refused', message));
  });

  const page = (reply: FastifyReply, body: string) => reply.type('text/html; charset=utf-8').send(body);
  const sessionOf = async (request: FastifyRequest) => {
    const id = request.cookies[SESSION_COOKIE];
    const accountId = await sessionAccount(db, id);
    return accountId && id ? { id, accountId } : null;
  };
  const mustSignIn = () => {
    if (!deps.signIn || !deps.key) throw new KodahError('not_found', 'Signing in with GitHub is not set up on this server.');
    return { signIn: deps.signIn, key: deps.key };
  };
  /** A form post's session, refused when it comes from another site or without the session's CSRF token. */
  const postedSession = async (request: FastifyRequest) => {
    const { key } = mustSignIn();
    const from = request.headers.origin;
    if ((from !== undefined && from !== origin) || request.headers['sec-fetch-site'] === 'cross-site') {
      throw new KodahError('unauthorized', 'This form was sent from another site: Kodah takes forms only from its own pages.');
    }
    const session = await sessionOf(request);
    if (!session) throw new KodahError('unauthorized', 'Your session has ended: please sign in again.');
    const body = form.safeParse(request.body ?? {});
    if (!body.success || !validCsrfToken(key, session.id, body.data.csrf)) {
      throw new KodahError('unauthorized', 'This form is out of date: reload the dashboard and try again.');
    }
    return session;
  };
  const hidden = { schema: { hide: true } };

  const diff2html = await loadDiff2HtmlAssets();
  const script = 'text/javascript; charset=utf-8';
  // diff2html's bundle is a megabyte and changes only with the package: browsers keep it an hour.
  const cached = (reply: FastifyReply) => reply.header('cache-control', 'public, max-age=3600');
  app.get('/kodah.css', hidden, async (_request, reply) => reply.type('text/css; charset=utf-8').send(STYLESHEET));
  app.get('/dashboard.js', hidden, async (_request, reply) => reply.type(script).send(DASHBOARD_SCRIPT));
  app.get('/job.js', hidden, async (_request, reply) => reply.type(script).send(JOB_SCRIPT));
  app.get('/assets/diff2html.min.css', hidden, async (_request, reply) =>
    cached(reply).type('text/css; charset=utf-8').send(diff2html.css),
  );
  app.get('/assets/diff2html-ui.min.js', hidden, async (_request, reply) => cached(reply).type(script).send(diff2html.uiJs));

  if (deps.setup && deps.key) await app.register(setupRoutes, { db, key: deps.key, setup: deps.setup, origin, cookieBase });

  app.get('/', hidden, async (request, reply) => reply.redirect((await sessionOf(request)) ? '/dashboard.html' : '/register.html', 303));

  app.get('/register.html', hidden, async (request, reply) =>
    page(reply, registerPage({ pricing: deps.rules, signInEnabled: deps.signIn !== null, signedIn: (await sessionOf(request)) !== null })),
  );

  /** The signed-in account of a page request, or null (signing in off, no or expired session). */
  const pageSession = async (request: FastifyRequest) => (deps.key ? await sessionOf(request) : null);
  /** The session's own job, or the same 404 for an unknown id and for another account's job. */
  const ownJob = async (request: FastifyRequest, accountId: string) => {
    const params = jobParams.safeParse(request.params);
    const job = params.success ? await getJob(db, params.data.id, accountId) : null;
    if (!job) throw new KodahError('not_found', 'There is no such job in your account.');
    return job;
  };

  const kit: PageKit = { db, page, pageSession, postedSession, csrf: (sessionId) => csrfToken(deps.key!, sessionId) };
  await app.register(repositoriesRoutes, {
    kit,
    userReach: deps.userReach,
    appSlug: deps.appSlug,
    githubWebUrl: deps.githubWebUrl,
    publicUrl: deps.publicUrl,
    codeIndex: deps.codeIndex,
  });
  await app.register(adminRoutes, { kit, clock: deps.clock, rules: deps.rules, ...deps.operator });

  app.get('/dashboard.html', hidden, async (request, reply) => {
    const session = await pageSession(request);
    if (!session) return reply.redirect('/register.html', 303);
    const account = await getAccount(db, session.accountId);
    const [balance, ledger, jobs] = await Promise.all([
      getBalance(db, account.id, deps.clock, deps.rules),
      recentLedger(db, account.id, DASHBOARD_ROWS),
      listJobs(db, account.id, { limit: DASHBOARD_ROWS }),
    ]);
    return page(
      reply,
      dashboardPage({
        email: account.email,
        githubLogin: account.githubLogin,
        freeCredits: balance.freeCredits,
        paidBalanceCents: balance.paidBalanceCents,
        fixPriceCents: deps.rules.fixPriceCents,
        csrf: csrfToken(deps.key!, session.id),
        ledger,
        jobs: jobs.map(jobSummary),
        purchases: deps.stripe ? deps.stripe.bounds : null,
        admin: account.githubLogin !== null && deps.operator.admins.includes(account.githubLogin.toLowerCase()),
      }),
    );
  });

  /** Whether a JSON read comes from another site (refused: a signed-in browser must not hand an account's jobs to it). */
  const crossSite = (request: FastifyRequest) => {
    const from = request.headers.origin;
    const site = request.headers['sec-fetch-site'];
    return (from !== undefined && from !== origin) || (site !== undefined && site !== 'same-origin');
  };

  // The dashboard's live job states: the session cookie only (never an API key), and only for
  // Kodah's own pages, so no other site can read an account's jobs through a signed-in browser.
  app.get('/dashboard/jobs.json', hidden, async (request, reply) => {
    if (crossSite(request)) return reply.status(403).send({ detail: "Only Kodah's own pages may read this." });
    const session = await pageSession(request);
    if (!session) return reply.status(401).send({ detail: 'Sign in on the dashboard first.' });
    const jobs = await listJobs(db, session.accountId, { limit: DASHBOARD_ROWS });
    return reply.type('application/json; charset=utf-8').send({ jobs: jobs.map(jobSummary) });
  });

  app.post('/dashboard/checkout', hidden, async (request, reply) => {
    const session = await postedSession(request);
    if (!deps.stripe) throw new KodahError('not_found', 'Buying credits is not enabled on this server: ask its operator to add credits.');
    const body = checkoutForm.safeParse(request.body);
    if (!body.success) throw new KodahError('invalid_input', 'Say how many US dollars of credit to buy, such as 10 or 12.50.');
    const cents = checkoutCents(body.data.usd, deps.stripe.bounds);
    const started = await startCheckout({ db, stripe: deps.stripe.client, publicUrl: deps.publicUrl }, session.accountId, cents);
    request.log.info({ accountId: session.accountId, cents }, 'checkout started from the dashboard');
    return reply.redirect(started.url, 303);
  });

  app.get('/jobs/:id.html', hidden, async (request, reply) => {
    const session = await pageSession(request);
    if (!session) return reply.redirect('/register.html', 303);
    return page(reply, jobPage(await ownJob(request, session.accountId), deps.publicUrl, csrfToken(deps.key!, session.id)));
  });

  // A job page's news while the job runs: the API's GET /jobs/{id}/events (the same query and
  // fields), for the session cookie and Kodah's own pages only.
  app.get('/jobs/:id/events.json', hidden, async (request, reply) => {
    if (crossSite(request)) return reply.status(403).send({ detail: "Only Kodah's own pages may read this." });
    const session = await pageSession(request);
    if (!session) return reply.status(401).send({ detail: 'Sign in on the dashboard first.' });
    const params = jobParams.safeParse(request.params);
    const query = eventsQuery.safeParse(request.query);
    if (!query.success) return reply.status(422).send({ detail: AFTER });
    const read = params.success ? await readStepsSince(db, params.data.id, session.accountId, query.data.after) : null;
    if (!read) return reply.status(404).send({ detail: 'There is no such job in your account.' });
    return reply.type('application/json; charset=utf-8').send(jobStepsView(read));
  });

  // The job page's cancel button: cancelJob as the API's POST /jobs/{id}/cancel calls it, so a job
  // no worker started gets its credit back; a running one is stopped too (its owner asks, as
  // `/kodah cancel` does on GitHub) and keeps the debit.
  app.post('/dashboard/jobs/:id/cancel', hidden, async (request, reply) => {
    const session = await postedSession(request);
    const job = await ownJob(request, session.accountId);
    await cancelJob(db, job.id, session.accountId, { running: true, onSettled: deps.onSettled });
    // A waiting delivery leaves the queue; a running worker finds the job cancelled at its next stage.
    if (job.state === 'queued') {
      await deps.boss?.cancel(FIX_QUEUE, job.id).catch((err: unknown) => request.log.warn({ err, jobId: job.id }, 'queue cancel failed'));
    }
    request.log.info({ accountId: session.accountId, jobId: job.id, was: job.state }, 'job cancelled from its page');
    return reply.redirect(`/jobs/${job.id}.html`, 303);
  });

  app.get('/jobs/:id.patch', hidden, async (request, reply) => {
    const session = await pageSession(request);
    if (!session) throw new KodahError('not_found', 'There is no such job in your account.');
    const job = await ownJob(request, session.accountId);
    if (!job.result) throw new KodahError('not_found', 'This job has no diff (yet).');
    return reply
      .type('text/x-diff; charset=utf-8')
      .header('content-disposition', `attachment; filename="kodah-${job.id}.patch"`)
      .send(job.result.diff);
  });

  app.get('/login', hidden, async (_request, reply) => {
    const { signIn, key } = mustSignIn();
    const { state, browser } = await createLoginState(db, key);
    reply.setCookie(LOGIN_COOKIE, browser, { ...cookieBase, path: '/login', maxAge: LOGIN_STATE_TTL_S });
    return reply.redirect(authorizeUrl(signIn, redirectUri, state), 302);
  });

  app.get('/login/callback', hidden, async (request, reply) => {
    const { signIn, key } = mustSignIn();
    const query = callbackQuery.safeParse(request.query);
    const browser = request.cookies[LOGIN_COOKIE];
    reply.clearCookie(LOGIN_COOKIE, { ...cookieBase, path: '/login' });
    // The state first, whatever else the query says: nothing happens for a link this browser did not start.
    if (!query.success || !query.data.state || !(await consumeLoginState(db, key, query.data.state, browser))) {
      throw new KodahError('invalid_input', 'This sign-in link is not valid here, has expired or was already used: please sign in again.');
    }
    if (query.data.error || !query.data.code) {
      throw new KodahError('invalid_input', 'GitHub did not sign you in (the request was cancelled or refused).');
    }
    const tokens = await exchangeCode(signIn, query.data.code, redirectUri);
    const user = await fetchGitHubUser(signIn, tokens.accessToken);
    const previous = request.cookies[SESSION_COOKIE];
    const { sessionId, newKey, accountId } = await db.transaction(async (tx) => {
      const account = await accountForGitHubUser(tx, user);
      await storeUserTokens(tx, key, account.id, tokens);
      if (previous) await deleteSession(tx, previous);
      const sessionId = await createSession(tx, account.id);
      // The first sign-in (of a new account, or of one the App or the operator made) gets a key;
      // later ones find one and make none: a new key is the dashboard's "New key".
      const live = (await listApiKeys(tx, account.id)).some((k) => k.revokedAt === null);
      return { sessionId, accountId: account.id, newKey: live ? null : await createApiKey(tx, account.id) };
    });
    // A new token may reach other repositories than the last one did.
    deps.userReach?.forget(accountId);
    reply.setCookie(SESSION_COOKIE, sessionId, { ...cookieBase, maxAge: SESSION_TTL_S });
    request.log.info({ githubId: user.id, newKey: newKey !== null }, 'signed in with GitHub');
    return newKey ? page(reply, keyPage(newKey)) : reply.redirect('/dashboard.html', 303);
  });

  app.post('/keys/new', hidden, async (request, reply) => {
    const session = await postedSession(request);
    const key = await db.transaction((tx) => rotateApiKey(tx, session.accountId));
    request.log.info({ accountId: session.accountId }, 'API key replaced from the dashboard');
    return page(reply, keyPage(key));
  });

  app.post('/logout', hidden, async (request, reply) => {
    const session = await postedSession(request);
    await db.transaction(async (tx) => {
      await deleteSession(tx, session.id);
      await forgetUserTokens(tx, session.accountId);
    });
    deps.userReach?.forget(session.accountId);
    reply.clearCookie(SESSION_COOKIE, cookieBase);
    return reply.redirect('/register.html', 303);
  });
};
