import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/billing/api-keys.js';
import { claimJob, completeJob, noteAttemptFailure, recordStep, reportStage } from '../src/jobs/job-lifecycle.js';
import { KodahError } from '../src/lib/errors.js';
import { type DashboardFixture, hostileResult, signInContext, startDashboardFixture } from './helpers/dashboard-fixture.js';
import { type FakeAnswer, type FakeOpenAI, type FakeToolCalls, startFakeOpenAI } from './helpers/fake-openai.js';

/** A small Python project with a failing test, which the scripted agent fixes. */
const SHOP: Record<string, string> = {
  'shop/__init__.py': '',
  'shop/processor.py':
    'def calculate_total(items):\n    total = 0\n    for item in items:\n        total += item["price"]\n    return total\n',
  'tests/__init__.py': '',
  'tests/test_processor.py':
    'from shop.processor import calculate_total\n\n\ndef test_string_prices():\n    assert calculate_total([{"price": "1.5"}, {"price": 2}]) == 3.5\n',
  '.github/kodah.yml': 'test_command: python3 -m pytest -q -p no:cacheprovider\n',
};
const call = (name: string, args: object): FakeToolCalls => ({ toolCalls: [{ name, arguments: args }] });
const EXPLANATION = 'Prices may be strings: convert each one to a number before adding it.';

/** The same-page marker: set in the page, gone after a reload. */
const mark = (page: Page) => page.evaluate(() => ((globalThis as { sameLoad?: number }).sameLoad = 1));
const marked = (page: Page) => page.evaluate(() => (globalThis as { sameLoad?: number }).sameLoad);

// One Kodah with workers and the agent against a fake model, one browser; PGlite is enough for pages.
describe('a job page follows its job, and cancels it', () => {
  let fx: DashboardFixture;
  let model: FakeOpenAI;
  let page: Page;
  let accountId: string;

  beforeAll(async () => {
    model = await startFakeOpenAI();
    fx = await startDashboardFixture(
      'pglite',
      {
        OPENAI_BASE_URL: model.baseUrl,
        KODAH_MODEL: 'fake-model',
        KODAH_MODEL_MAX_RETRIES: '0',
        KODAH_JOB_RETRIES: '0',
        KODAH_FIX_MODE: 'agent',
      },
      { workers: true },
    );
    fx.git.createRepo('shop', SHOP);
    const user = fx.newUser('live-owner');
    ({ page } = await signInContext(fx, user.login));
    accountId = await fx.accountOf(user.login);
    await fx.grant(accountId, 1000);
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
    await model?.close();
  });

  const db = () => fx.app.kodah.db;
  const jobRow = async (id: string) =>
    (
      await db().query<{ state: string; refunds: number }>(
        `SELECT state, (SELECT count(*)::int FROM ledger WHERE job_id = $1 AND kind = 'refund') AS refunds FROM jobs WHERE id = $1`,
        [id],
      )
    ).rows[0];
  const freeFixesLeft = async () => {
    await page.goto(`${fx.base}/dashboard.html`);
    return Number(/Free fixes left this month\s*(\d+)/.exec((await page.textContent('body'))!)![1]);
  };

  it("shows a running job's steps as the agent takes them, then its diff once it ends", async () => {
    let release!: (answer: FakeAnswer) => void;
    const held = new Promise<FakeAnswer>((resolve) => (release = resolve));
    model.reply(
      call('search_code', { query: 'calculate_total price', path_glob: 'shop/**' }),
      call('read_file', { path: 'shop/processor.py' }),
      held,
      call('submit', { explanation: EXPLANATION }),
    );
    const key = await createApiKey(db(), accountId);
    const submitted = await fx.app.api(key, 'POST', '/jobs', {
      repo_url: fx.git.url('shop'),
      task: 'fix',
      description: 'TypeError: prices',
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const id: string = submitted.body.job_id;

    await page.goto(`${fx.base}/jobs/${id}.html`);
    expect(await page.locator('#live a[href$=".html"]').textContent()).toBe('Refresh');
    await mark(page);
    const rows = page.locator('#steps tbody tr');
    // Checkout, the tests before the fix, then two steps: the third waits on the model.
    await expect.poll(() => rows.count(), { timeout: 90_000, interval: 250 }).toBe(2);
    expect(await rows.nth(0).textContent()).toContain('search_code');
    expect(await rows.nth(1).textContent()).toContain('read_file');
    expect(await page.textContent('#state')).toBe('running');
    await expect.poll(() => page.textContent('#stage'), { timeout: 10_000, interval: 250 }).toMatch(/^step 2: read_file/);
    expect(await marked(page)).toBe(1);

    release(
      call('edit', {
        path: 'shop/processor.py',
        search: '        total += item["price"]',
        replace: '        total += float(item["price"])',
      }),
    );
    // The job ends, the page reloads itself and draws the diff.
    await page.waitForSelector('.d2h-file-wrapper', { timeout: 90_000 });
    expect(await marked(page)).toBeUndefined();
    expect(await page.textContent('#state')).toBe('completed');
    expect(await page.textContent('#explanation')).toBe(EXPLANATION);
    expect(await page.textContent('#diff-view')).toContain('total += float(item["price"])');
    expect(await page.locator('#live').count()).toBe(0);
    expect((await page.locator('#steps tbody tr').allTextContents()).map((r) => /search_code|read_file|edit|submit/.exec(r)?.[0])).toEqual([
      'search_code',
      'read_file',
      'edit',
      'submit',
    ]);
  }, 200_000);

  it('appends steps from a retry afresh, and shows the state and a refresh link without JavaScript', async () => {
    const id = await fx.runningJob(accountId);
    await page.goto(`${fx.base}/jobs/${id}.html`);
    await mark(page);
    const step = (n: number, target: string) => ({ n, candidate: 1, tool: 'run', target, outcome: 'exit 1', ok: false, seconds: 0.5 });
    await recordStep(db(), id, 1, step(1, '<b>first</b>'));
    await recordStep(db(), id, 1, step(2, '"><img src=x onerror="window.pwned=1">'));
    const rows = page.locator('#steps tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000, interval: 250 }).toBe(2);
    // Text, never markup.
    expect(await rows.nth(0).locator('code').textContent()).toBe('<b>first</b>');
    expect(await page.locator('#steps img, #steps b').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { pwned?: unknown }).pwned)).toBeUndefined();

    // A retry takes the job over and numbers its steps from 1 again: the table starts over.
    await noteAttemptFailure(db(), id, 1, new KodahError('internal', 'flaky'), 'waiting for a worker (retry)');
    await claimJob(db(), id, 2);
    await reportStage(db(), id, 2, 'explore', 40);
    await recordStep(db(), id, 2, step(1, 'retried'));
    await expect.poll(() => rows.allTextContents(), { timeout: 10_000, interval: 250 }).toEqual([expect.stringContaining('retried')]);
    await recordStep(db(), id, 2, step(2, 'again'));
    await expect.poll(() => rows.count(), { timeout: 10_000, interval: 250 }).toBe(2);
    expect(await marked(page)).toBe(1);

    const noScript = await fx.browser.newContext({ javaScriptEnabled: false });
    try {
      await noScript.addCookies(await page.context().cookies(fx.base));
      const plain = await noScript.newPage();
      await plain.goto(`${fx.base}/jobs/${id}.html`);
      expect(await plain.textContent('#state')).toBe('running');
      expect(await plain.textContent('#stage')).toBe('explore');
      expect(await plain.locator('#steps tbody tr').count()).toBe(2);
      expect(await plain.getAttribute('#live a', 'href')).toBe(`/jobs/${id}.html`);
    } finally {
      await noScript.close();
    }
    await completeJob(db(), id, 2, hostileResult(1));
    await page.waitForSelector('.d2h-file-wrapper', { timeout: 10_000 });
    expect(await marked(page)).toBeUndefined();
  });

  it('cancels a queued job from its page: cancelled, and the credit comes back', async () => {
    const before = await freeFixesLeft();
    const id = await fx.insertJob(accountId);
    expect(await freeFixesLeft()).toBe(before - 1);
    await page.goto(`${fx.base}/jobs/${id}.html`);
    expect(await page.textContent('#live')).toMatch(/gives your credit back/);
    await Promise.all([page.waitForURL(`${fx.base}/jobs/${id}.html`), page.click('#live form button')]);
    expect(await page.textContent('#state')).toBe('cancelled');
    expect(await page.textContent('body')).toMatch(/Credit\s*refunded/);
    expect(await page.locator('#live').count()).toBe(0);
    expect(await jobRow(id)).toEqual({ state: 'cancelled', refunds: 1 });
    expect(await freeFixesLeft()).toBe(before);
  });

  it('stops a running job from its page; the credit is kept, as the API and /kodah cancel keep it', async () => {
    const id = await fx.runningJob(accountId);
    await page.goto(`${fx.base}/jobs/${id}.html`);
    expect(await page.textContent('#live button')).toBe('Stop this job');
    await Promise.all([page.waitForURL(`${fx.base}/jobs/${id}.html`), page.click('#live form button')]);
    expect(await page.textContent('#state')).toBe('cancelled');
    expect(await jobRow(id)).toEqual({ state: 'cancelled', refunds: 0 });
  });

  it("refuses another account's job, a finished job, and posts without the session's token or from another site; nothing changes", async () => {
    const other = await fx.app.account();
    const theirs = await fx.insertJob(other.id);
    const mine = await fx.insertJob(accountId);
    await page.goto(`${fx.base}/jobs/${mine}.html`);
    const csrf = (await page.getAttribute('#live input[name="csrf"]', 'value'))!;
    const cancel = (id: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
      page.request.post(`${fx.base}/dashboard/jobs/${id}/cancel`, { form, headers, maxRedirects: 0 });

    // Another account's job: the same 404 as an unknown one, for the page, its news and its cancel.
    expect((await page.goto(`${fx.base}/jobs/${theirs}.html`))!.status()).toBe(404);
    expect((await page.request.get(`${fx.base}/jobs/${theirs}/events.json`)).status()).toBe(404);
    expect((await page.request.get(`${fx.base}/jobs/${randomUUID()}/events.json`)).status()).toBe(404);
    expect((await cancel(theirs, { csrf })).status()).toBe(404);
    expect((await cancel(randomUUID(), { csrf })).status()).toBe(404);
    expect(await jobRow(theirs)).toEqual({ state: 'queued', refunds: 0 });

    // Without the token, with a forged one, or from another site (a cross-site form carries no token).
    expect((await cancel(mine, {})).status()).toBe(403);
    expect((await cancel(mine, { csrf: 'forged' })).status()).toBe(403);
    expect((await cancel(mine, {}, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status()).toBe(403);
    expect((await cancel(mine, { csrf }, { origin: 'https://evil.example' })).status()).toBe(403);
    expect(await jobRow(mine)).toEqual({ state: 'queued', refunds: 0 });

    // The news: the session only, Kodah's own pages only, a sane `after`.
    expect((await page.request.get(`${fx.base}/jobs/${mine}/events.json`, { headers: { origin: 'https://evil.example' } })).status()).toBe(
      403,
    );
    expect((await fetch(`${fx.base}/jobs/${mine}/events.json`, { headers: { 'x-api-key': other.key } })).status).toBe(401);
    expect((await page.request.get(`${fx.base}/jobs/${mine}/events.json?after=-1`)).status()).toBe(422);
    const news = await page.request.get(`${fx.base}/jobs/${mine}/events.json?after=0`);
    expect(await news.json()).toEqual({ job_id: mine, state: 'queued', stage: null, progress: 0, events: [], next_after: 0, done: false });

    // A finished job cannot be cancelled: 409, and it stays completed without a refund.
    const done = await fx.completedJob(accountId, hostileResult(1));
    expect((await cancel(done, { csrf })).status()).toBe(409);
    expect(await jobRow(done)).toEqual({ state: 'completed', refunds: 0 });
    expect(await page.goto(`${fx.base}/jobs/${done}.html`).then(() => page.locator('#live').count())).toBe(0);

    // With the token, from its own page's origin: cancelled.
    expect((await cancel(mine, { csrf }, { origin: fx.base })).status()).toBe(303);
    expect(await jobRow(mine)).toEqual({ state: 'cancelled', refunds: 1 });
  });
});
