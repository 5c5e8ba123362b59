import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GITHUB_APP_FILE } from '../src/config.js';
import { CHROMIUM } from './helpers/dashboard-fixture.js';
import { FAKE_OAUTH_CLIENT_ID, type FakeGitHub, startFakeGitHub } from './helpers/fake-github.js';
import { type GitHttpServer, startGitHttpServer } from './helpers/git-http-server.js';
import { adaptRepository, loadExample, sendWebhook } from './helpers/github-webhooks.js';
import { freePort, spawnKodah, waitForHealthy } from './helpers/kodah-process.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';
import { waitFor } from './helpers/wait-for.js';

const OWNER = { login: 'acme-corp', id: 7001, type: 'Organization' as const };
/** The installation the App gets, and its one repository. */
const INSTALLATION = 1002;
const WIDGETS = { owner: OWNER.login, name: 'widgets', id: INSTALLATION * 10 };

/** The installation event GitHub sends when the App is installed on OWNER's account. */
function installationCreated(id: number) {
  const payload = loadExample('installation', (p) => p.action === 'created');
  payload.installation = { ...payload.installation, id, account: { ...payload.installation.account, ...OWNER } };
  payload.repositories = [{ id: id * 10, name: 'widgets', full_name: `${OWNER.login}/widgets`, private: false }];
  return payload;
}

// PGlite: the pages' SQL is the API's, and the restart needs the data folder to stay.
describe('registering the GitHub App from the browser (/setup)', () => {
  let git: GitHttpServer;
  let github: FakeGitHub;
  let database: TestDatabase;
  let app: TestApp;
  let browser: Browser;
  let base: string;
  let env: Record<string, string>;
  let file: string;
  let setupUrl: string;

  const start = () => startTestApp('pglite', { database, env });
  const installations = async (id: number) =>
    (await app.kodah.db.query('SELECT 1 FROM github_installations WHERE id = $1', [id])).rows.length > 0;
  const statesLeft = async () => Number((await app.kodah.db.query<{ n: string }>('SELECT count(*) AS n FROM web_login_states')).rows[0]!.n);
  /** From /setup to GitHub's manifest page and back, as the operator clicks it; the page once back. */
  const register = async (page: Page, org = '') => {
    await page.goto(setupUrl);
    await page.fill('#org', org);
    await page.click('button:has-text("Register GitHub App")');
    await page.waitForSelector('#to-github');
    await page.click('#to-github button');
    await page.waitForURL(/\/setup\/callback\?/);
    return page;
  };

  beforeAll(async () => {
    git = await startGitHttpServer();
    github = await startFakeGitHub({ git });
    database = await createTestDatabase('pglite');
    base = `http://127.0.0.1:${await freePort()}`;
    env = {
      PORT: new URL(base).port,
      KODAH_PUBLIC_URL: base,
      GITHUB_URL: github.webUrl,
      GITHUB_API_URL: github.url,
    };
    file = path.join(database.env.KODAH_DATA_DIR!, GITHUB_APP_FILE);
    git.createRepo(`${WIDGETS.owner}/${WIDGETS.name}`, { 'README.md': 'widgets\n' });
    github.addRepo({ ...WIDGETS, ownerId: OWNER.id, ownerType: OWNER.type });
    github.addInstallation({ id: INSTALLATION, account: OWNER, repositoryIds: [WIDGETS.id] });
    github.setPermission(WIDGETS.owner, WIDGETS.name, 'alice', 'write');
    github.addIssue(WIDGETS.owner, WIDGETS.name, { number: 5, title: 'Crashes on start' });
    app = await start();
    setupUrl = app.kodah.setupUrl!;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await database?.drop();
    await github?.close();
    await git?.close();
  });

  it('offers /setup only with the token the server printed, and nothing of the App works yet', async () => {
    expect(setupUrl).toMatch(new RegExp(`^${base}/setup\\?token=[A-Za-z0-9_-]{43}$`));
    expect((await fetch(`${base}/setup`)).status).toBe(403);
    expect((await fetch(`${base}/setup?token=not-the-token`)).status).toBe(403);
    const before = await statesLeft();
    const posted = await fetch(`${base}/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: 'token=not-the-token&org=',
    });
    expect(posted.status).toBe(403);
    expect(await posted.text()).toContain('setup token');
    expect(posted.headers.getSetCookie()).toEqual([]);
    expect(await statesLeft()).toBe(before);
    // With the token, from another site: refused too.
    const token = new URL(setupUrl).searchParams.get('token')!;
    const crossSite = await fetch(`${base}/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: `token=${token}&org=`,
    });
    expect(crossSite.status).toBe(403);
    // With the token, an organisation that is no GitHub login (a path, markup): refused before any state.
    for (const org of ['../../login', '<b>x</b>']) {
      const badOrg = await fetch(`${base}/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
        body: new URLSearchParams({ token, org }).toString(),
      });
      expect(badOrg.status).toBe(400);
      expect(await badOrg.text()).not.toContain('<b>x</b>');
    }
    expect(await statesLeft()).toBe(before);
    expect((await sendWebhook(base, 'installation', installationCreated(1), { secret: 'anything' })).status).toBe(404);
    expect((await fetch(`${base}/login`, { redirect: 'manual' })).status).toBe(404);
    expect((await fetch(`${base}/setup/callback?code=abc&state=forged.state`)).status).toBe(400);
    expect(existsSync(file)).toBe(false);
  });

  it('shows a failed conversion as a page, stores nothing, and a state works once', async () => {
    const page = await browser.newPage();
    github.failNext('POST', /^\/app-manifests\//, { status: 500, body: { message: 'Server Error' } });
    await register(page);
    expect(await page.textContent('h1')).toBe('Registration failed');
    expect(await page.textContent('body')).toContain('Nothing was enabled');
    expect(existsSync(file)).toBe(false);
    // The same way back again (a replayed callback): its state is used up.
    const again = await page.goto(page.url());
    expect(again!.status()).toBe(400);
    expect(await page.textContent('body')).toContain('already used');
    expect((await sendWebhook(base, 'installation', installationCreated(1), { secret: 'anything' })).status).toBe(404);
    await page.close();
  });

  it('refuses a code that was already used, storing nothing', async () => {
    const page = await browser.newPage();
    // GitHub's answer is read but not followed: its code is used elsewhere first. The browser gets a
    // stand-in page, and the test waits until it has landed: an aborted navigation would end on
    // Chromium's error page some time later and interrupt the test's next goto.
    let callback = '';
    const manifestPage = `${github.webUrl}/settings/apps/new**`;
    await page.route(manifestPage, async (route) => {
      const answer = await route.fetch({ maxRedirects: 0 });
      callback = answer.headers().location ?? '';
      await route.fulfill({ contentType: 'text/html', body: '<p>GitHub</p>' });
    });
    await page.goto(setupUrl);
    await page.click('button:has-text("Register GitHub App")');
    await Promise.all([page.waitForURL(manifestPage), page.click('#to-github button')]);
    await waitFor('the way back from GitHub', async () => callback, 20_000);
    expect(callback.startsWith(`${base}/setup/callback?`)).toBe(true);
    const code = new URL(callback).searchParams.get('code')!;
    expect((await fetch(`${github.url}/app-manifests/${code}/conversions`, { method: 'POST' })).status).toBe(201);
    const response = await page.goto(callback);
    expect(response!.status()).toBe(400);
    expect(await page.textContent('body')).toContain('already used or has expired');
    expect(existsSync(file)).toBe(false);
    await page.close();
  });

  it("registers the App for an organisation with Kodah's manifest, stores it 0600 and links to its installation", async () => {
    const page = await register(await browser.newPage(), OWNER.login);
    expect(await page.textContent('h1')).toBe('GitHub App registered');
    expect(await page.getAttribute('#install', 'href')).toBe(`${github.webUrl}/apps/kodah/installations/new`);

    const sent = github.requests.filter((r) => r.method === 'POST' && r.path === `/organizations/${OWNER.login}/settings/apps/new`);
    const manifest = JSON.parse((sent.at(-1)!.body as { manifest: string }).manifest);
    expect(manifest.hook_attributes).toEqual({ active: true, url: `${base}/api/github/webhooks` });
    expect(manifest.redirect_url).toBe(`${base}/setup/callback`);
    expect(manifest.callback_urls).toEqual([`${base}/login/callback`]);
    expect(manifest.setup_url).toBe(`${base}/dashboard.html`);
    expect(manifest.request_oauth_on_install).toBe(false);
    expect(manifest.default_permissions).toMatchObject({ contents: 'write', issues: 'write', email_addresses: 'read' });
    expect(manifest.default_events).toContain('issues');
    expect(JSON.stringify(manifest)).not.toContain('example.com');

    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(stored).toMatchObject({ id: 424242, slug: 'kodah', client_id: FAKE_OAUTH_CLIENT_ID, github_url: github.webUrl });
    expect(stored.pem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    await page.close();
  });

  it('takes deliveries signed with the stored secret at once, and refuses others', async () => {
    const { webhook_secret: secret } = JSON.parse(readFileSync(file, 'utf8'));
    const forged = await sendWebhook(base, 'installation', installationCreated(1001), { secret: 'another-secret' });
    expect(forged.status).toBe(400);
    const accepted = await sendWebhook(base, 'installation', installationCreated(INSTALLATION), { secret });
    expect(accepted.status).toBeGreaterThanOrEqual(200);
    expect(accepted.status).toBeLessThan(300);
    await waitFor('the installation to be recorded', () => installations(INSTALLATION), 20_000);
    expect(await installations(1001)).toBe(false);
  });

  it("acts in the installation's repositories with the stored key (the fake takes only JWTs signed with it)", async () => {
    const { webhook_secret: secret } = JSON.parse(readFileSync(file, 'utf8'));
    const payload = adaptRepository(
      loadExample('issues', (p) => p.action === 'labeled'),
      {
        ...WIDGETS,
        private: false,
        ownerId: OWNER.id,
        ownerType: OWNER.type,
        cloneUrl: git.url(`${WIDGETS.owner}/${WIDGETS.name}`),
        defaultBranch: 'main',
        installationId: INSTALLATION,
      },
    );
    Object.assign(payload.issue, { number: 5, title: 'Crashes on start', body: 'It crashes.' });
    delete payload.issue.pull_request;
    payload.label = { ...payload.label, name: 'kodah-fix' };
    payload.sender = { ...payload.sender, login: 'alice', id: 5007, type: 'User' };
    expect((await sendWebhook(base, 'issues', payload, { secret })).status).toBe(200);
    const eyes = await waitFor(
      'the 👀 reaction',
      async () => github.reactions(WIDGETS.owner, WIDGETS.name, { issue: 5 }).find((r) => r.content === 'eyes'),
      20_000,
    );
    expect((eyes.user as { login: string }).login).toBe(github.botLogin);
    expect(github.tokens.some((t) => t.installationId === INSTALLATION)).toBe(true);
  });

  it("signs people in with the App's OAuth client, without a restart", async () => {
    github.addOAuthUser({ login: 'octo-operator' });
    const page = await browser.newPage();
    await page.goto(`${base}/login`);
    expect(await page.textContent('body')).toMatch(/kdh_[A-Za-z0-9_-]{32,}/);
    await page.close();
  });

  it('is gone once the App is configured', async () => {
    expect((await fetch(setupUrl)).status).toBe(404);
    const posted = await fetch(`${base}/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: `token=${new URL(setupUrl).searchParams.get('token')}&org=`,
    });
    expect(posted.status).toBe(404);
    expect((await fetch(`${base}/setup/callback?code=abc&state=x.y`)).status).toBe(404);
  });

  it('starts again on the same data folder with the App from the file', async () => {
    const { webhook_secret: secret } = JSON.parse(readFileSync(file, 'utf8'));
    await app.stop();
    app = await start();
    expect(app.kodah.setupUrl).toBeNull();
    expect((await fetch(setupUrl)).status).toBe(404);
    expect((await sendWebhook(base, 'installation', installationCreated(1003), { secret: 'another-secret' })).status).toBe(400);
    const accepted = await sendWebhook(base, 'installation', installationCreated(1003), { secret });
    expect(accepted.status).toBeLessThan(300);
    await waitFor('the installation to be recorded after the restart', () => installations(1003), 20_000);
    const login = await fetch(`${base}/login`, { redirect: 'manual' });
    expect(new URL(login.headers.get('location')!).searchParams.get('client_id')).toBe(FAKE_OAUTH_CLIENT_ID);
  });
});

describe('`kodah start` without a GitHub App', () => {
  it('prints the setup address with its token in the log, as the only way in', async () => {
    const database = await createTestDatabase('pglite');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = spawnKodah(['start'], { ...database.env, PORT: String(port), HOST: '127.0.0.1', KODAH_PUBLIC_URL: base });
    try {
      await waitForHealthy(base, server);
      const printed = new RegExp(`open (${base}/setup\\?token=[A-Za-z0-9_-]+)`).exec(server.output());
      expect(printed, server.output()).not.toBeNull();
      const page = await fetch(printed![1]!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Register GitHub App');
      expect((await fetch(`${base}/setup?token=${'x'.repeat(43)}`)).status).toBe(403);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      await database.drop();
    }
  });
});
