import fastifyCookie, { type CookieSerializeOptions } from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { accountForGitHubUser, getAccount } from '../billing/accounts.js';
import { createApiKey, listApiKeys, rotateApiKey } from '../billing/api-keys.js';
import { type CreditRules, getBalance } from '../billing/credits.js';
import type { Database } from '../db/database.js';
import type { Clock } from '../lib/clock.js';
import { KodahError } from '../lib/errors.js';
import { type SignInConfig, authorizeUrl, exchangeCode, fetchGitHubUser } from './github-oauth.js';
import { LOGIN_STATE_TTL_S, consumeLoginState, createLoginState } from './login-states.js';
import { STYLESHEET, dashboardPage, errorPage, keyPage, registerPage } from './pages.js';
import { SESSION_COOKIE, SESSION_TTL_S, createSession, csrfToken, deleteSession, sessionAccount, validCsrfToken } from './sessions.js';
import { forgetUserTokens, storeUserTokens } from './user-token.js';

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
}

/** The cookie that binds a sign-in's state to the browser that started it. */
const LOGIN_COOKIE = 'kodah_login';

const callbackQuery = z.object({
  code: z.string().max(512).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(512).optional(),
});
const form = z.object({ csrf: z.string().max(512).optional() }).loose();

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
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    hsts: https,
    // The callback's URL holds a code: no other site may see it as a referrer.
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 4096 });

  app.addHook('onSend', async (_request, reply) => {
    // Pages show balances and keys: no cache keeps them.
    reply.header('cache-control', 'no-store');
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

  app.get('/kodah.css', hidden, async (_request, reply) => reply.type('text/css; charset=utf-8').send(STYLESHEET));

  app.get('/', hidden, async (request, reply) => reply.redirect((await sessionOf(request)) ? '/dashboard.html' : '/register.html', 303));

  app.get('/register.html', hidden, async (request, reply) =>
    page(reply, registerPage({ pricing: deps.rules, signInEnabled: deps.signIn !== null, signedIn: (await sessionOf(request)) !== null })),
  );

  app.get('/dashboard.html', hidden, async (request, reply) => {
    const session = deps.key ? await sessionOf(request) : null;
    if (!session) return reply.redirect('/register.html', 303);
    const account = await getAccount(db, session.accountId);
    const balance = await getBalance(db, account.id, deps.clock, deps.rules);
    return page(
      reply,
      dashboardPage({
        email: account.email,
        githubLogin: account.githubLogin,
        freeCredits: balance.freeCredits,
        paidBalanceCents: balance.paidBalanceCents,
        fixPriceCents: deps.rules.fixPriceCents,
        csrf: csrfToken(deps.key!, session.id),
      }),
    );
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
    const { sessionId, newKey } = await db.transaction(async (tx) => {
      const account = await accountForGitHubUser(tx, user);
      await storeUserTokens(tx, key, account.id, tokens);
      if (previous) await deleteSession(tx, previous);
      const sessionId = await createSession(tx, account.id);
      // The first sign-in (of a new account, or of one the App or the operator made) gets a key;
      // later ones find one and make none: a new key is the dashboard's "New key".
      const live = (await listApiKeys(tx, account.id)).some((k) => k.revokedAt === null);
      return { sessionId, newKey: live ? null : await createApiKey(tx, account.id) };
    });
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
    reply.clearCookie(SESSION_COOKIE, cookieBase);
    return reply.redirect('/register.html', 303);
  });
};
