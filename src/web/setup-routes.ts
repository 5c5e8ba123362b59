import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { KodahError } from '../lib/errors.js';
import { LOGIN_STATE_TTL_S, consumeLoginState, createLoginState } from './login-states.js';
import { errorPage } from './pages.js';
import { sameString } from './secrets.js';
import { continuePage, setupDonePage, setupPage } from './setup-pages.js';

/** Registering the GitHub App from the browser, as app.ts wires it. */
export interface AppSetup {
  /** The one-time token the server printed in its log at start: /setup is the operator's alone. */
  token: string;
  /** GITHUB_URL: where the manifest flow's pages are. */
  webUrl: string;
  /** Kodah's manifest with this server's addresses (read when asked: a missing app.yml breaks this page only). */
  manifest(): Promise<Record<string, unknown>>;
  /** Whether an App is configured: from then on /setup is gone. */
  configured(): boolean;
  /** Converts the manifest flow's code, stores the App and enables it; KodahErrors say what went wrong. */
  register(code: string): Promise<{ name: string; htmlUrl: string }>;
}

export interface SetupRouteDeps {
  db: Database;
  /** Signs the flow's states (the same key as sign-in's). */
  key: Buffer;
  setup: AppSetup;
  /** The only origin forms are taken from. */
  origin: string;
  cookieBase: CookieSerializeOptions;
}

/** The cookie that binds a registration's state to the browser that started it. */
const SETUP_COOKIE = 'kodah_setup';
const SETUP_COOKIE_PATH = '/setup';

const tokenQuery = z.object({ token: z.string().max(256).optional() }).loose();
const registerForm = z.object({
  token: z.string().max(256).optional(),
  // GitHub's logins: letters, digits and single hyphens, at most 39.
  org: z
    .string()
    .trim()
    .max(39)
    .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*)?$/, 'an organisation login such as acme-corp'),
});
const callbackQuery = z.object({ code: z.string().regex(/^[\w-]{1,256}$/), state: z.string().max(512) }).loose();

/**
 * /setup: "Register GitHub App" posts Kodah's manifest to GitHub's manifest flow, and GitHub's way
 * back (/setup/callback) turns its code into the App, stored and enabled at once. Every route
 * answers 404 once an App is configured, 403 without the setup token; the flow's `state` is signed,
 * bound to the browser, short-lived and single-use, as sign-in's is.
 */
export const setupRoutes: FastifyPluginAsync<SetupRouteDeps> = async (app, deps) => {
  const { db, key, setup } = deps;
  const githubOrigin = new URL(setup.webUrl).origin;
  const hidden = { schema: { hide: true } };
  const page = (reply: FastifyReply, body: string, status = 200) => reply.status(status).type('text/html; charset=utf-8').send(body);

  app.addHook('onRequest', async () => {
    if (setup.configured()) throw new KodahError('not_found', 'The GitHub App is configured: there is nothing to set up.');
  });
  const mustHoldToken = (token: string | undefined) => {
    if (!token || !sameString(token, setup.token)) {
      throw new KodahError(
        'unauthorized',
        'Setting up the GitHub App needs the setup token: open the address Kodah printed in its log when it started (…/setup?token=…).',
      );
    }
  };

  app.get('/setup', hidden, async (request, reply) => {
    const query = tokenQuery.safeParse(request.query);
    mustHoldToken(query.success ? query.data.token : undefined);
    return page(reply, setupPage(setup.token));
  });

  app.post('/setup', hidden, async (request, reply) => {
    const from = request.headers.origin;
    if ((from !== undefined && from !== deps.origin) || request.headers['sec-fetch-site'] === 'cross-site') {
      throw new KodahError('unauthorized', 'This form was sent from another site: Kodah takes forms only from its own pages.');
    }
    const form = registerForm.safeParse(request.body ?? {});
    mustHoldToken(form.success ? form.data.token : (request.body as { token?: string } | undefined)?.token);
    if (!form.success) throw new KodahError('invalid_input', 'The organisation must be a GitHub login, such as acme-corp (or empty).');
    const org = form.data.org || null;
    const manifest = JSON.stringify(await setup.manifest());
    const { state, browser } = await createLoginState(db, key, 'setup-state');
    reply.setCookie(SETUP_COOKIE, browser, { ...deps.cookieBase, path: SETUP_COOKIE_PATH, maxAge: LOGIN_STATE_TTL_S });
    const target = new URL(org ? `${setup.webUrl}/organizations/${org}/settings/apps/new` : `${setup.webUrl}/settings/apps/new`);
    target.searchParams.set('state', state);
    // This page's form posts to GitHub: its origin joins the pages' form-action for this answer only.
    const csp = String(reply.getHeader('content-security-policy') ?? '');
    reply.header(
      'content-security-policy',
      csp.replace(/form-action ([^;]*)/, (_all, sources: string) => `form-action ${sources} ${githubOrigin}`),
    );
    return page(reply, continuePage(target.toString(), manifest, org));
  });

  app.get('/setup/callback', hidden, async (request, reply) => {
    const query = callbackQuery.safeParse(request.query);
    const browser = request.cookies[SETUP_COOKIE];
    reply.clearCookie(SETUP_COOKIE, { ...deps.cookieBase, path: SETUP_COOKIE_PATH });
    // The state first: nothing happens for a link this browser did not start here, nor twice.
    if (!query.success || !(await consumeLoginState(db, key, query.data.state, browser, 'setup-state'))) {
      throw new KodahError(
        'invalid_input',
        "This registration link is not valid here, has expired or was already used: open the setup address from Kodah's log and register again.",
      );
    }
    try {
      const registered = await setup.register(query.data.code);
      request.log.info({ app: registered.htmlUrl }, 'GitHub App registered from the browser and enabled');
      return page(reply, setupDonePage(registered));
    } catch (err) {
      if (err instanceof KodahError && err.code !== 'internal') throw err;
      request.log.error({ err }, 'registering the GitHub App failed');
      const detail = err instanceof KodahError ? err.message : 'an unexpected error';
      return page(
        reply,
        errorPage('Registration failed', `${detail}. Nothing was enabled; open the setup address from Kodah's log and register again.`),
        502,
      );
    }
  });
};
