import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardFixture, HOSTILE, signInContext, startDashboardFixture } from './helpers/dashboard-fixture.js';

const OWNER = { login: 'acme-web', id: 9200, type: 'Organization' as const };
const VAULT = { owner: 'acme-web', name: 'vault', id: 9201 };
/** A repository whose name (as the fake GitHub sends it) would be markup if it were not escaped. */
const EVIL = { owner: 'acme-web', name: HOSTILE.attribute, id: 9202 };
const ADMIN = 'ops-admin';

/** Whether anything the page showed ran: dialogs, and the flags the hostile texts set. */
async function nothingRan(page: Page, dialogs: { n: number }) {
  expect(await page.evaluate(() => (globalThis as { pwned?: unknown }).pwned)).toBeUndefined();
  expect(dialogs.n).toBe(0);
  expect(await page.locator('img').count()).toBe(0);
  expect(await page.locator('script:not([src])').count()).toBe(0);
}

function watch(page: Page) {
  const dialogs = { n: 0 };
  page.on('dialog', (dialog) => {
    dialogs.n++;
    void dialog.dismiss();
  });
  return dialogs;
}

/** A control as the page's script sees it (the tests compile without the DOM's types). */
interface Control {
  tagName: string;
  labels?: { length: number } | null;
  textContent: string | null;
  outerHTML: string;
  getAttribute(name: string): string | null;
}

/** Every form control has a name people (and screen readers) are told. */
async function allLabelled(page: Page) {
  const unlabelled = await page.evaluate(() => {
    const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<Control> } }).document;
    return [...doc.querySelectorAll('input:not([type="hidden"]), button, select, textarea')]
      .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent?.trim())))
      .map((e) => e.outerHTML);
  });
  expect(unlabelled).toEqual([]);
}

/** Whether the page is no wider than the window (its tables scroll inside their own boxes). */
const fitsWidth = (page: Page) =>
  page.evaluate(() => {
    const g = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
    return g.document.documentElement.scrollWidth <= g.innerWidth;
  });

describe('the repositories and operator pages in a real browser', () => {
  let fx: DashboardFixture;

  beforeAll(async () => {
    fx = await startDashboardFixture('pglite', { KODAH_ADMINS: `someone-else, ${ADMIN.toUpperCase()}` }, { githubApp: true });
    fx.git.createRepo('acme-web/vault', { 'a.py': 'x = 1\n' }, { private: true });
    fx.git.createRepo(`acme-web/${EVIL.name}`, { 'a.py': 'x = 1\n' }, { private: true });
    for (const repo of [VAULT, EVIL]) fx.github.addRepo({ ...repo, private: true, ownerId: OWNER.id, ownerType: OWNER.type });
    fx.github.addInstallation({ id: 8801, account: OWNER, repositoryIds: [VAULT.id, EVIL.id] });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('lists the private repositories the user reaches through the App, with their jobs, escaped, and the install link', async () => {
    const user = fx.newUser('repo-reader');
    for (const repo of [VAULT, EVIL]) fx.github.setPermission(repo.owner, repo.name, user.login, 'read');
    const { page, context } = await signInContext(fx, user.login);
    const dialogs = watch(page);
    const accountId = await fx.accountOf(user.login);
    const jobId = await fx.insertJob(accountId, { repo: fx.host!.cloneUrl('acme-web/vault') });

    await page.goto(`${fx.base}/dashboard.html`);
    expect(await page.locator('a[href="/admin.html"]').count()).toBe(0);
    await Promise.all([page.waitForURL(`${fx.base}/repositories.html`), page.click('a[href="/repositories.html"]')]);
    const rows = page.locator('#reachable tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await page.textContent('#reachable table[data-installation="8801"] caption')).toMatch(
      /^\s*Installed on acme-web \(selected repositories\)\s*$/,
    );
    const vault = page.locator('#reachable tr[data-repo="acme-web/vault"]');
    expect(await vault.locator('td').nth(1).textContent()).toBe('private');
    expect(await vault.locator(`a[href="/jobs/${jobId}.html"]`).textContent()).toBe('latest (queued)');
    expect(await vault.locator('pre').textContent()).toContain(`"repo_url":"${fx.host!.cloneUrl('acme-web/vault')}"`);
    // The hostile name is shown as text, and nothing it carries ran.
    expect(await page.locator('#reachable').textContent()).toContain(`acme-web/${HOSTILE.attribute}`);
    await nothingRan(page, dialogs);
    expect(await page.getAttribute('a.button', 'href')).toBe(`${fx.host!.url}/apps/kodah/installations/new`);
    expect(await page.textContent('body')).toContain('POST /api/v1/repositories');
    await allLabelled(page);

    // "Index" adds the repository to the code index (checked with the user's access, as the API does) and queues its run.
    await Promise.all([
      page.waitForURL(/\/repositories\.html\?queued=/),
      vault.locator('form[action="/repositories/index"] button').click(),
    ]);
    expect(await page.textContent('#queued')).toBe(`Indexing ${fx.host!.cloneUrl('acme-web/vault')}: the run is queued.`);
    expect(await page.locator('#indexed tbody tr').count()).toBe(1);
    expect(await vault.locator('td').nth(3).textContent()).toMatch(/indexing\s*Re-sync/);
    // The hostile one is refused by the URL policy, its message shown as text.
    const evil = page.locator('#reachable tbody tr').filter({ hasText: HOSTILE.attribute });
    // The refusal is a page of its own: the checks below run on it once it has loaded, not on the
    // page the form was sent from.
    const [refused] = await Promise.all([
      page.waitForResponse(`${fx.base}/repositories/index`),
      page.waitForURL(`${fx.base}/repositories/index`),
      evil.locator('button').click(),
    ]);
    expect(refused.status()).toBe(400);
    await nothingRan(page, dialogs);
    // Without the session's CSRF token nothing is queued.
    const forged = await page.request.post(`${fx.base}/repositories/index`, { form: { uri: fx.host!.cloneUrl('acme-web/vault') } });
    expect(forged.status()).toBe(403);
    await page.goto(`${fx.base}/repositories.html`);
    expect(await page.locator('#indexed tbody tr').count()).toBe(1);

    // Readable on a phone: nothing wider than the screen but the tables' own scrolling boxes.
    await page.setViewportSize({ width: 375, height: 740 });
    await page.reload();
    expect(await fitsWidth(page)).toBe(true);
    await context.close();
  });

  it('forgets what GitHub said on sign-out: signed in again, a user who lost access on GitHub sees nothing', async () => {
    const user = fx.newUser('repo-leaver');
    fx.github.setPermission(VAULT.owner, VAULT.name, user.login, 'write');
    const { page, context } = await signInContext(fx, user.login);
    await page.goto(`${fx.base}/repositories.html`);
    expect(await page.locator('#reachable tbody tr').count()).toBe(1);
    // Signing out drops the cached answer with the token: signed in again, GitHub is asked afresh.
    fx.github.setPermission(VAULT.owner, VAULT.name, user.login, 'none');
    await page.goto(`${fx.base}/dashboard.html`);
    await Promise.all([page.waitForURL(`${fx.base}/register.html`), page.click('form[action="/logout"] button')]);
    expect((await page.goto(`${fx.base}/repositories.html`))!.url()).toBe(`${fx.base}/register.html`);
    await page.goto(`${fx.base}/login`);
    await page.goto(`${fx.base}/repositories.html`);
    expect(await page.locator('#reachable').count()).toBe(0);
    expect(await page.textContent('body')).toContain('not installed on any repository you can reach');
    await context.close();
  });

  describe('the operator page', () => {
    let admin: Page;
    let target: string;
    const hostileLogin = `x${HOSTILE.script}`;

    const balanceOf = async (accountId: string) =>
      (await fx.app.kodah.db.query<{ c: number }>('SELECT paid_balance_cents AS c FROM accounts WHERE id = $1', [accountId])).rows[0]!.c;
    const grants = async (accountId: string) =>
      (await fx.app.kodah.db.query(`SELECT note FROM ledger WHERE account_id = $1 AND kind = 'grant'`, [accountId])).rows;

    beforeAll(async () => {
      // Sign-in refuses such a login; a row written by other means (an old version, a hand edit) must still render inert.
      target = (await fx.app.account({ email: 'hostile@example.com' })).id;
      await fx.app.kodah.db.query('UPDATE accounts SET github_login = $2 WHERE id = $1', [target, hostileLogin]);
      await fx.insertJob(target, { repo: `https://github.com/acme/${HOSTILE.attribute}` });
      fx.newUser(ADMIN);
      admin = (await signInContext(fx, ADMIN)).page;
    });

    it('shows an admin every account, recent jobs and the queue; hostile logins and repositories render inert', async () => {
      const dialogs = watch(admin);
      await admin.goto(`${fx.base}/dashboard.html`);
      await Promise.all([admin.waitForURL(`${fx.base}/admin.html`), admin.click('a[href="/admin.html"]')]);
      const row = admin.locator(`#accounts tr[data-account="${target}"]`);
      expect(await row.locator('td').first().textContent()).toBe(hostileLogin);
      expect(await row.locator('.balance').textContent()).toBe('$0.00');
      expect(await admin.locator('#recent-jobs').textContent()).toContain(`https://github.com/acme/${HOSTILE.attribute}`);
      expect(await admin.textContent('#server')).toMatch(/Jobs waiting\s*\d+ of at most 100/);
      await nothingRan(admin, dialogs);
      await allLabelled(admin);
    });

    it('grants credits through the form once: the balance moves once, a replay of the same form moves nothing', async () => {
      await admin.goto(`${fx.base}/admin.html`);
      const form = admin.locator(`#accounts tr[data-account="${target}"] form`);
      await form.locator('input[name="usd"]').fill('12.50');
      const fields = {
        csrf: (await form.locator('input[name="csrf"]').getAttribute('value'))!,
        account: target,
        grant: (await form.locator('input[name="grant"]').getAttribute('value'))!,
        usd: '12.50',
      };
      await Promise.all([admin.waitForURL(/\/admin\.html\?granted=/), form.locator('button').click()]);
      expect(await admin.textContent('#granted')).toBe('Granted $12.50.');
      expect(await admin.locator(`#accounts tr[data-account="${target}"] .balance`).textContent()).toBe('$12.50');
      const replay = await admin.request.post(`${fx.base}/admin/grant`, { form: fields, maxRedirects: 0 });
      expect(replay.status()).toBe(303);
      expect(await balanceOf(target)).toBe(1250);
      expect(await grants(target)).toEqual([{ note: expect.stringContaining(`by ${ADMIN}`) }]);
    });

    it('refuses a post without the CSRF token, from another site, or with a bad amount, and changes nothing', async () => {
      await admin.goto(`${fx.base}/admin.html`);
      const grant = (await admin.locator(`#accounts tr[data-account="${target}"] input[name="grant"]`).getAttribute('value'))!;
      const csrf = (await admin.locator('input[name="csrf"]').first().getAttribute('value'))!;
      const before = await balanceOf(target);
      const noToken = await admin.request.post(`${fx.base}/admin/grant`, { form: { account: target, grant, usd: '5' } });
      expect(noToken.status()).toBe(403);
      const otherSite = await admin.request.post(`${fx.base}/admin/grant`, {
        form: { csrf, account: target, grant, usd: '5' },
        headers: { origin: 'https://evil.example' },
      });
      expect(otherSite.status()).toBe(403);
      for (const usd of ['-5', '0', '1e3', HOSTILE.script]) {
        const bad = await admin.request.post(`${fx.base}/admin/grant`, { form: { csrf, account: target, grant, usd } });
        expect(bad.status()).toBe(400);
      }
      // A page of another site that posts the form: the browser sends it cross-site, Kodah takes nothing.
      await admin.route('http://evil.test/**', (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: `<form method="post" action="${fx.base}/admin/grant"><input name="account" value="${target}"><input name="grant" value="${grant}"><input name="usd" value="5"><button>go</button></form>`,
        }),
      );
      await admin.goto('http://evil.test/');
      const [answer] = await Promise.all([admin.waitForResponse(`${fx.base}/admin/grant`), admin.click('button')]);
      expect([403, 404]).toContain(answer.status());
      expect(await balanceOf(target)).toBe(before);
    });

    it('answers 404 to everyone else, as for an address that does not exist', async () => {
      const unknown = await fetch(`${fx.base}/no-such-page.html`);
      const unknownBody = await unknown.text();
      const signedOut = await fetch(`${fx.base}/admin.html`);
      expect(signedOut.status).toBe(404);
      expect(await signedOut.text()).toBe(unknownBody.replace('/no-such-page.html', '/admin.html'));

      const user = fx.newUser('not-an-admin');
      const { page, context } = await signInContext(fx, user.login);
      const own = await page.goto(`${fx.base}/admin.html`);
      expect(own!.status()).toBe(404);
      expect(await own!.text()).toBe(unknownBody.replace('/no-such-page.html', '/admin.html'));
      // Even with the session's own CSRF token, a grant from a non-admin is a 404 and grants nothing.
      await page.goto(`${fx.base}/dashboard.html`);
      const csrf = (await page.locator('input[name="csrf"]').first().getAttribute('value'))!;
      const before = await balanceOf(target);
      const post = await page.request.post(`${fx.base}/admin/grant`, {
        form: { csrf, account: target, grant: crypto.randomUUID(), usd: '100' },
      });
      expect(post.status()).toBe(404);
      expect(await balanceOf(target)).toBe(before);
      await context.close();
    });
  });
});
