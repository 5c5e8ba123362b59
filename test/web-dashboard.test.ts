import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeStripe, startFakeStripe } from './helpers/fake-stripe.js';
import { type DashboardFixture, HOSTILE, hostileResult, signInContext, startDashboardFixture } from './helpers/dashboard-fixture.js';

const KEY = /kdh_[A-Za-z0-9_-]{32,}/;

/** Everything a page could do to run attacker text: dialogs, and the flag the hostile text sets. */
function watch(page: Page) {
  const seen = { dialogs: 0 };
  page.on('dialog', (dialog) => {
    seen.dialogs++;
    void dialog.dismiss();
  });
  return seen;
}

/**
 * Submits the dashboard's checkout form as the browser would and returns Kodah's answer to it. Stripe's
 * hosted page is outside the test and unreachable here, and Playwright cannot stand in for the target of
 * a redirect: the browser would end on Chromium's error page some time later and interrupt the test's
 * next `goto`. So the form's own answer is read, and the browser is given a page of Kodah's host instead.
 */
async function checkout(page: Page) {
  let answer: { status: number; location: string } | undefined;
  const form = /\/dashboard\/checkout$/;
  await page.route(form, async (route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    answer = { status: response.status(), location: response.headers()['location'] ?? '' };
    await route.fulfill({ contentType: 'text/html', body: '<p>on to Stripe</p>' });
  });
  await Promise.all([page.waitForURL(form), page.click('form[action="/dashboard/checkout"] button')]);
  await page.unroute(form);
  expect(answer?.status).toBe(303);
  expect(answer?.location).toMatch(/^https:\/\/checkout\.stripe\.com\//);
  return answer!.location;
}

// One browser for the suite; PGlite is enough for pages (the SQL they run is the API's).
describe('the dashboard and job pages in a real browser', () => {
  let fx: DashboardFixture;
  let page: Page;
  let accountId: string;
  let doneId: string;
  let seen: { dialogs: number };
  const result = hostileResult();

  beforeAll(async () => {
    fx = await startDashboardFixture('pglite');
    const user = fx.newUser('dash-owner');
    const signedIn = await signInContext(fx, user.login);
    page = signedIn.page;
    seen = watch(page);
    // The first sign-in shows the key, once.
    expect(signedIn.firstPage).toMatch(KEY);
    expect(await page.textContent('body')).toMatch(/never show it again/);
    accountId = await fx.accountOf(user.login);
    await fx.grant(accountId, 500);
    doneId = await fx.completedJob(accountId, result);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('shows credits, the ledger with its jobs, how credits are added, and the jobs', async () => {
    await page.goto(`${fx.base}/dashboard.html`);
    const text = (await page.textContent('body'))!;
    expect(text).not.toMatch(KEY);
    expect(text).toMatch(/Free fixes left this month\s*9/);
    expect(text).toMatch(/Paid balance\s*\$5\.00/);
    expect(text).toContain('npx kodah credits add');
    const ledger = await page.locator('#ledger tbody tr').allTextContents();
    expect(ledger[0]).toMatch(/Fix.*−1 free fix/s);
    expect(ledger.some((row) => /Credit from the operator.*\+\$5\.00/s.test(row))).toBe(true);
    expect(await page.locator(`#ledger a[href="/jobs/${doneId}.html"]`).count()).toBe(1);
    const row = page.locator(`#jobs tr[data-job="${doneId}"]`);
    expect(await row.locator('.state').textContent()).toBe('completed');
    expect(await row.textContent()).toContain('GitHub');
  });

  it('renders the job page with diff2html, every hostile text inert and shown literally', async () => {
    const response = await page.goto(`${fx.base}/jobs/${doneId}.html`);
    expect(response!.status()).toBe(200);
    await page.waitForSelector('.d2h-file-wrapper');
    expect(await page.evaluate(() => (globalThis as { pwned?: unknown }).pwned)).toBeUndefined();
    expect(seen.dialogs).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
    expect(await page.textContent('#explanation')).toBe(result.explanation);
    const diffText = (await page.textContent('#diff-view'))!;
    expect(diffText).toContain(HOSTILE.script);
    expect(diffText).toContain(HOSTILE.attribute);
    const body = (await page.textContent('body'))!;
    for (const text of ['search_code', 'npm test', '1234 prompt tokens', '2 tried', 'ok 1 ', 'Before the fix', 'With the fix']) {
      expect(body).toContain(text);
    }
    expect(await page.locator('#steps tbody tr').count()).toBe(3);
    expect(await page.locator('.d2h-file-side-diff').count()).toBeGreaterThan(0);
    await page.click('button[data-format="line-by-line"]');
    expect(await page.locator('.d2h-file-side-diff').count()).toBe(0);
    expect(await page.locator('.d2h-file-wrapper').count()).toBe(1);
    expect(await page.evaluate(() => (globalThis as { pwned?: unknown }).pwned)).toBeUndefined();
    expect(seen.dialogs).toBe(0);
  });

  it('downloads the patch with the session, as an attachment', async () => {
    const response = await page.request.get(`${fx.base}/jobs/${doneId}.patch`);
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toMatch(/^text\/x-diff/);
    expect(response.headers()['content-disposition']).toBe(`attachment; filename="kodah-${doneId}.patch"`);
    expect(await response.text()).toBe(result.diff);
    const download = page.waitForEvent('download');
    await page.goto(`${fx.base}/jobs/${doneId}.html`);
    await page.click('a[href$=".patch"]');
    expect((await download).suggestedFilename()).toBe(`kodah-${doneId}.patch`);
  });

  it("follows a running job's state without a reload", async () => {
    const id = await fx.runningJob(accountId);
    await page.goto(`${fx.base}/dashboard.html`);
    const state = page.locator(`#jobs tr[data-job="${id}"] .state`);
    expect(await state.textContent()).toBe('running');
    expect(await page.locator(`#jobs tr[data-job="${id}"] .stage`).textContent()).toBe('explore');
    await page.evaluate(() => ((globalThis as { sameLoad?: number }).sameLoad = 1));
    await fx.finish(id, hostileResult(1));
    // Polled from here: the CSP (no eval) refuses Playwright's string predicates, as it should.
    await expect.poll(() => state.textContent(), { timeout: 10_000, interval: 250 }).toBe('completed');
    expect(await page.evaluate(() => (globalThis as { sameLoad?: number }).sameLoad)).toBe(1);
    expect(await page.locator(`#jobs tr[data-job="${id}"] .stage`).textContent()).toBe('done');
  });

  it("answers another account's job and an unknown id with the same 404", async () => {
    const other = await fx.app.account();
    const theirs = await fx.completedJob(other.id, hostileResult(1));
    const foreign = await page.goto(`${fx.base}/jobs/${theirs}.html`);
    expect(foreign!.status()).toBe(404);
    const foreignText = await page.textContent('body');
    const unknown = await page.goto(`${fx.base}/jobs/${randomUUID()}.html`);
    expect(unknown!.status()).toBe(404);
    expect(await page.textContent('body')).toBe(foreignText);
    expect((await page.request.get(`${fx.base}/jobs/${theirs}.patch`)).status()).toBe(404);
    expect((await page.goto(`${fx.base}/jobs/not-a-uuid.html`))!.status()).toBe(404);
  });

  it('serves the live jobs JSON to its own pages with the session only', async () => {
    const own = await page.request.get(`${fx.base}/dashboard/jobs.json`);
    expect(own.status()).toBe(200);
    expect((await own.json()).jobs.some((j: { id: string }) => j.id === doneId)).toBe(true);
    const crossSite = await page.request.get(`${fx.base}/dashboard/jobs.json`, { headers: { origin: 'https://evil.example' } });
    expect(crossSite.status()).toBe(403);
    const { key } = await fx.app.account();
    const withKey = await fetch(`${fx.base}/dashboard/jobs.json`, { headers: { 'x-api-key': key } });
    expect(withKey.status).toBe(401);
  });

  // Browsers send `Origin: null` with form posts under Referrer-Policy no-referrer; the pages use same-origin.
  it("posts the dashboard's own forms from a real browser: New key shows a new key", async () => {
    await page.goto(`${fx.base}/dashboard.html`);
    await Promise.all([page.waitForURL(`${fx.base}/keys/new`), page.click('form[action="/keys/new"] button')]);
    expect(await page.textContent('body')).toMatch(KEY);
  });
});

describe('buying credits from the dashboard', () => {
  let fx: DashboardFixture;
  let stripe: FakeStripe;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    fx = await startDashboardFixture('pglite', {
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_BASE: stripe.url,
    });
  });
  afterAll(async () => {
    await fx?.close();
    await stripe?.close();
  });

  it('creates a Checkout session for the amount and sends the browser to it (303)', async () => {
    const user = fx.newUser('dash-buyer');
    const { page } = await signInContext(fx, user.login);
    await page.goto(`${fx.base}/dashboard.html`);
    expect(await page.textContent('body')).not.toContain('npx kodah credits add');
    await page.fill('input[name="usd"]', '12.50');
    const toStripe = await checkout(page);
    const sessionId = new URL(toStripe).pathname.split('/').pop()!;
    const session = stripe.sessions.get(sessionId)!;
    expect(session.metadata).toEqual({ kodah_account_id: await fx.accountOf(user.login), kodah_cents: '1250' });

    // Without the session's CSRF token, nothing is created.
    const before = stripe.sessions.size;
    const forged = await page.request.post(`${fx.base}/dashboard/checkout`, { form: { usd: '10', csrf: 'forged' } });
    expect(forged.status()).toBe(403);
    expect(stripe.sessions.size).toBe(before);
  });

  it('lists a purchase, its partial refund and a dispute won in the ledger, and the balance they leave', async () => {
    const user = fx.newUser('dash-refunded');
    const { page } = await signInContext(fx, user.login);
    await page.goto(`${fx.base}/dashboard.html`);
    await page.fill('input[name="usd"]', '20');
    const toStripe = await checkout(page);
    const sessionId = new URL(toStripe).pathname.split('/').pop()!;
    const send = async (delivery: { body: string; headers: Record<string, string> }) => {
      const res = await fetch(`${fx.base}/api/stripe/webhook`, { method: 'POST', headers: delivery.headers, body: delivery.body });
      return ((await res.json()) as { outcome: string }).outcome;
    };
    const pi = 'pi_test_dashboard_refund';
    expect(
      await send(stripe.delivery('checkout.session.completed', sessionId, { changes: { payment_status: 'paid', payment_intent: pi } })),
    ).toBe('credited');
    const charge = { id: 'ch_test_dash', object: 'charge', amount: 2000, amount_refunded: 250, currency: 'usd', payment_intent: pi };
    expect(await send(stripe.event('charge.refunded', charge))).toBe('reversed');
    const dispute = { id: 'dp_test_dash', object: 'dispute', amount: 1750, currency: 'usd', payment_intent: pi, status: 'needs_response' };
    expect(await send(stripe.event('charge.dispute.created', dispute))).toBe('reversed');
    expect(await send(stripe.event('charge.dispute.closed', { ...dispute, status: 'won' }))).toBe('restored');

    await page.goto(`${fx.base}/dashboard.html`);
    expect(await page.textContent('body')).toMatch(/Paid balance\s*\$17\.50/);
    const ledger = (await page.locator('#ledger tbody tr').allTextContents()).map((row) => row.replace(/\s+/g, ' ').trim());
    expect(ledger.map((row) => row.replace(/^\S+ \S+ /, ''))).toEqual([
      'Dispute won: credits given back +$17.50 —',
      'Payment disputed: credits taken back −$17.50 —',
      'Payment refunded: credits taken back −$2.50 —',
      'Purchase +$20.00 —',
    ]);
  });
});
