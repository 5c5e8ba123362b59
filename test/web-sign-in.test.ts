import { statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountForGitHubOwner } from '../src/billing/accounts.js';
import { createLogger } from '../src/lib/logger.js';
import { loadSecretKey } from '../src/web/secret-key.js';
import { userToken } from '../src/web/user-token.js';
import { FAKE_GITHUB_USER_COOKIE, FAKE_OAUTH_CLIENT_ID, type FakeGitHub } from './helpers/fake-github.js';
import type { GitHttpServer } from './helpers/git-http-server.js';
import { startSignInApp } from './helpers/sign-in-app.js';
import type { TestApp } from './helpers/test-app.js';
import { databaseKinds } from './helpers/test-database.js';

interface Page {
  status: number;
  location: string | null;
  text: string;
  headers: Headers;
  setCookies: string[];
}

/**
 * A browser as far as cookies and redirects go: one jar for every host (Kodah and the fake GitHub
 * both live on 127.0.0.1, and cookies do not tell ports apart), paths honoured, redirects by hand.
 */
class Browser {
  private jar = new Map<string, { value: string; path: string }>();

  constructor(githubLogin?: string) {
    if (githubLogin) this.set(FAKE_GITHUB_USER_COOKIE, githubLogin);
  }

  set(name: string, value: string, cookiePath = '/'): void {
    this.jar.set(name, { value, path: cookiePath });
  }
  get(name: string): string | undefined {
    return this.jar.get(name)?.value;
  }

  async request(method: string, url: string, options: { form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const target = new URL(url);
    const cookie = [...this.jar.entries()]
      .filter(([, c]) => target.pathname === c.path || target.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    const headers: Record<string, string> = { ...options.headers };
    if (cookie) headers.cookie = cookie;
    if (options.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, {
      method,
      headers,
      body: options.form ? new URLSearchParams(options.form).toString() : undefined,
      redirect: 'manual',
    });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const cookiePath = attributes.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
      const gone = attributes.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()));
      if (gone) this.jar.delete(name);
      else this.jar.set(name, { value: pair!.slice(eq + 1), path: cookiePath });
    }
    const location = res.headers.get('location');
    return {
      status: res.status,
      location: location && new URL(location, url).toString(),
      text: await res.text(),
      headers: res.headers,
      setCookies,
    } satisfies Page;
  }
}

const KEY = /kdh_[A-Za-z0-9_-]{32,}/;
const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1];

describe.each(databaseKinds)('signing in with GitHub on %s', (kind) => {
  let git: GitHttpServer;
  let github: FakeGitHub;
  let app: TestApp;
  let base: string;
  let users = 0;

  beforeAll(async () => {
    ({ git, github, app, base } = await startSignInApp(kind));
  });
  afterAll(async () => {
    await app?.stop();
    await github?.close();
    await git?.close();
  });

  const newUser = (options: { email?: string | null } = {}) => {
    const login = `signer${++users}-${kind}`;
    return github.addOAuthUser({ login, email: options.email === undefined ? `${login}@example.com` : options.email });
  };
  const count = async (sql: string, params: unknown[]) => (await app.kodah.db.query<{ n: number }>(sql, params)).rows[0]!.n;
  const accountsOf = (githubId: number) => count('SELECT count(*)::int AS n FROM accounts WHERE github_id = $1', [githubId]);
  const sessions = () => count('SELECT count(*)::int AS n FROM web_sessions', []);

  /** /login up to the callback URL GitHub sends the browser back to (not yet visited). */
  async function startSignIn(browser: Browser): Promise<string> {
    const login = await browser.request('GET', `${base}/login`);
    expect(login.status).toBe(302);
    const authorize = new URL(login.location!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${github.webUrl}/login/oauth/authorize`);
    expect(authorize.searchParams.get('client_id')).toBe(FAKE_OAUTH_CLIENT_ID);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${base}/login/callback`);
    expect(authorize.searchParams.get('scope')).toBe('read:user user:email');
    const approved = await browser.request('GET', login.location!);
    expect(approved.status).toBe(302);
    return approved.location!;
  }
  async function signIn(browser: Browser): Promise<Page> {
    return browser.request('GET', await startSignIn(browser));
  }

  it('shows the key once on the first sign-in; it works on the API; signing in again shows none and keeps the account', async () => {
    const user = newUser();
    const first = await signIn(new Browser(user.login));
    expect(first.status).toBe(200);
    const key = KEY.exec(first.text)?.[0];
    expect(key).toBeDefined();
    expect(first.text).toMatch(/never show it again/);
    expect(first.headers.get('cache-control')).toBe('no-store');

    const account = await app.api(key!, 'GET', '/account');
    expect(account.status).toBe(200);
    expect(account.body).toMatchObject({ email: `${user.login}@example.com`, github_login: user.login });

    const again = new Browser(user.login);
    const second = await signIn(again);
    expect(second.status).toBe(303);
    expect(second.location).toBe(`${base}/dashboard.html`);
    expect(second.text).not.toMatch(KEY);
    const dashboard = await again.request('GET', `${base}/dashboard.html`);
    expect(dashboard.status).toBe(200);
    expect(dashboard.text).toContain(`${user.login}@example.com`);
    expect(dashboard.text).not.toMatch(KEY);
    expect(dashboard.text).toMatch(/Free fixes left this month<\/dt>\s*<dd>10</);
    expect((await again.request('GET', `${base}/`)).location).toBe(`${base}/dashboard.html`);
    expect((await new Browser().request('GET', `${base}/`)).location).toBe(`${base}/register.html`);

    expect(await accountsOf(user.id)).toBe(1);
    expect((await app.api(key!, 'GET', '/account')).status).toBe(200);
  });

  it('"New key" replaces the key: the old one answers 401 at once, the new one works', async () => {
    const browser = new Browser(newUser().login);
    const old = KEY.exec((await signIn(browser)).text)![0];
    const dashboard = await browser.request('GET', `${base}/dashboard.html`);
    const page = await browser.request('POST', `${base}/keys/new`, { form: { csrf: csrfOf(dashboard.text)! }, headers: { origin: base } });
    expect(page.status).toBe(200);
    const fresh = KEY.exec(page.text)![0];
    expect(fresh).not.toBe(old);
    expect((await app.api(old, 'GET', '/account')).status).toBe(401);
    expect((await app.api(fresh, 'GET', '/account')).status).toBe(200);
  });

  it('refuses a forged, an expired, a replayed state and one from another browser, and changes nothing', async () => {
    const user = newUser();
    const browser = new Browser(user.login);
    const before = await sessions();

    // Forged: the state's signature altered.
    const callback = new URL(await startSignIn(browser));
    const state = callback.searchParams.get('state')!;
    const forged = new URL(callback);
    forged.searchParams.set('state', `${state.split('.')[0]}.${'A'.repeat(43)}`);
    const forgedPage = await browser.request('GET', forged.toString());
    expect(forgedPage.status).toBe(400);
    expect(forgedPage.setCookies.some((c) => c.startsWith('kodah_session='))).toBe(false);

    // From another browser: its own sign-in cookie does not match this state.
    const other = new Browser(user.login);
    await other.request('GET', `${base}/login`);
    const foreign = await other.request('GET', callback.toString());
    expect(foreign.status).toBe(400);

    // Expired.
    const late = new Browser(user.login);
    const lateCallback = await startSignIn(late);
    await app.kodah.db.query(`UPDATE web_login_states SET expires_at = now() - interval '1 second'`);
    expect((await late.request('GET', lateCallback)).status).toBe(400);
    expect(await accountsOf(user.id)).toBe(0);
    expect(await sessions()).toBe(before);

    // Replayed: the same code and state twice, the browser's cookie put back as it was.
    const replaying = new Browser(user.login);
    const used = await startSignIn(replaying);
    const binding = replaying.get('kodah_login')!;
    expect((await replaying.request('GET', used)).status).toBe(200);
    const afterFirst = await sessions();
    replaying.set('kodah_login', binding, '/login');
    const replay = await replaying.request('GET', used);
    expect(replay.status).toBe(400);
    expect(replay.text).not.toMatch(KEY);
    expect(await sessions()).toBe(afterFirst);
    expect(await accountsOf(user.id)).toBe(1);
  });

  it('takes form posts only with the session, its CSRF token, and from its own site', async () => {
    const browser = new Browser(newUser().login);
    const key = KEY.exec((await signIn(browser)).text)![0];
    const csrf = csrfOf((await browser.request('GET', `${base}/dashboard.html`)).text)!;
    const otherBrowser = new Browser(newUser().login);
    await signIn(otherBrowser);
    const otherCsrf = csrfOf((await otherBrowser.request('GET', `${base}/dashboard.html`)).text)!;

    const refused = [
      await browser.request('POST', `${base}/keys/new`, { form: {} }),
      await browser.request('POST', `${base}/keys/new`, { form: { csrf: 'wrong' } }),
      await browser.request('POST', `${base}/keys/new`, { form: { csrf: otherCsrf } }),
      await browser.request('POST', `${base}/keys/new`, { form: { csrf }, headers: { origin: 'https://evil.example' } }),
      await browser.request('POST', `${base}/keys/new`, { form: { csrf }, headers: { 'sec-fetch-site': 'cross-site' } }),
      await new Browser().request('POST', `${base}/keys/new`, { form: { csrf } }),
      await browser.request('POST', `${base}/logout`, { form: { csrf: 'wrong' } }),
      await browser.request('POST', `${base}/logout`, { form: { csrf }, headers: { origin: 'null' } }),
    ];
    expect(refused.map((r) => r.status)).toEqual(refused.map(() => 403));
    for (const r of refused) expect(r.text).not.toMatch(KEY);
    expect((await app.api(key, 'GET', '/account')).status).toBe(200);
    expect((await browser.request('GET', `${base}/dashboard.html`)).status).toBe(200);
  });

  it('sets its cookies HttpOnly, SameSite=Lax, Path=/; sends a CSP without inline scripts; keeps keys and cookies apart', async () => {
    const browser = new Browser(newUser().login);
    const login = await browser.request('GET', `${base}/login`);
    expect(login.setCookies).toEqual([expect.stringMatching(/^kodah_login=[\w-]+; Max-Age=600; Path=\/login; HttpOnly; SameSite=Lax$/)]);
    const callback = await browser.request('GET', (await browser.request('GET', login.location!)).location!);
    const session = callback.setCookies.find((c) => c.startsWith('kodah_session='));
    expect(session).toMatch(/^kodah_session=[\w-]{43}; Max-Age=604800; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(session).not.toMatch(/Secure/);

    const register = await browser.request('GET', `${base}/register.html`);
    expect(register.status).toBe(200);
    expect(register.text).toContain('$0.50');
    const csp = register.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(register.text).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
    expect(register.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await browser.request('GET', `${base}/kodah.css`)).status).toBe(200);

    // The API takes keys, never the session cookie; pages take the cookie, never a key.
    const key = KEY.exec(callback.text)![0];
    expect((await browser.request('GET', `${base}/account`)).status).toBe(401);
    const withKey = await new Browser().request('GET', `${base}/dashboard.html`, { headers: { 'x-api-key': key } });
    expect(withKey.status).toBe(303);
    expect(withKey.location).toBe(`${base}/register.html`);
    expect((await app.api(key, 'GET', '/healthz')).headers.get('content-security-policy')).toBeNull();
  });

  it('stores GitHub tokens encrypted, refreshes them, drops revoked ones; sign-out ends the session and deletes them', async () => {
    const user = newUser();
    const browser = new Browser(user.login);
    await signIn(browser);
    const { rows } = await app.kodah.db.query<{ account_id: string; access_token: string; refresh_token: string }>(
      'SELECT t.account_id, t.access_token, t.refresh_token FROM github_user_tokens t JOIN accounts a ON a.id = t.account_id WHERE a.github_id = $1',
      [user.id],
    );
    const [row] = rows;
    const [live] = github.userTokens(user.login);
    expect(row!.access_token).not.toContain(live);
    expect(`${row!.access_token}${row!.refresh_token}`).not.toMatch(/gh[ur]_/);

    const deps = {
      key: await loadSecretKey(app.kodah.config, createLogger('silent')),
      signIn: app.kodah.config.signIn!,
    };
    const accountId = row!.account_id;
    expect(await userToken(app.kodah.db, accountId, deps)).toBe(live);
    // About to expire: refreshed first, and the new token works.
    await app.kodah.db.query(`UPDATE github_user_tokens SET access_expires_at = now() + interval '1 minute' WHERE account_id = $1`, [
      accountId,
    ]);
    const refreshed = await userToken(app.kodah.db, accountId, deps);
    expect(refreshed).toMatch(/^ghu_/);
    expect(refreshed).not.toBe(live);
    const me = await fetch(`${github.url}/user`, { headers: { authorization: `Bearer ${refreshed}` } });
    expect(((await me.json()) as any).login).toBe(user.login);
    expect(await userToken(app.kodah.db, accountId, deps)).toBe(refreshed);
    // Revoked at GitHub: the refresh is refused and the tokens are dropped.
    github.revokeUserTokens(user.login);
    await app.kodah.db.query(`UPDATE github_user_tokens SET access_expires_at = now() WHERE account_id = $1`, [accountId]);
    expect(await userToken(app.kodah.db, accountId, deps)).toBeNull();
    expect(await count('SELECT count(*)::int AS n FROM github_user_tokens WHERE account_id = $1', [accountId])).toBe(0);

    // Sign in again for fresh tokens, then sign out.
    const again = new Browser(user.login);
    await signIn(again);
    const sessionCookie = again.get('kodah_session')!;
    expect(await userToken(app.kodah.db, accountId, deps)).toMatch(/^ghu_/);
    const csrf = csrfOf((await again.request('GET', `${base}/dashboard.html`)).text)!;
    const out = await again.request('POST', `${base}/logout`, { form: { csrf }, headers: { origin: base } });
    expect(out.status).toBe(303);
    expect(out.location).toBe(`${base}/register.html`);
    expect(again.get('kodah_session')).toBeUndefined();
    expect(await userToken(app.kodah.db, accountId, deps)).toBeNull();
    const stolen = new Browser();
    stolen.set('kodah_session', sessionCookie);
    expect((await stolen.request('GET', `${base}/dashboard.html`)).status).toBe(303);
    // The first browser's session is its own, and lives on.
    expect((await browser.request('GET', `${base}/dashboard.html`)).status).toBe(200);
  });

  it('adopts the account the GitHub App made for the same GitHub user instead of making a second', async () => {
    const user = newUser();
    const appMade = await app.kodah.db.transaction((tx) => accountForGitHubOwner(tx, user));
    const page = await signIn(new Browser(user.login));
    const key = KEY.exec(page.text)?.[0];
    expect(key).toBeDefined();
    expect(await accountsOf(user.id)).toBe(1);
    const { rows } = await app.kodah.db.query<{ account_id: string }>(
      'SELECT account_id FROM api_keys WHERE revoked_at IS NULL AND key_prefix = $1',
      [key!.slice(0, 8)],
    );
    expect(rows.map((r) => r.account_id)).toEqual([appMade]);
    // The App's placeholder address gives way to the verified one.
    expect((await app.api(key!, 'GET', '/account')).body.email).toBe(`${user.login}@example.com`);
  });

  it.runIf(kind === 'pglite')('keeps a generated secret key in the data folder, readable by its owner only', () => {
    const file = path.join(app.kodah.config.dataDir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
