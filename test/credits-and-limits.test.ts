import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateApiKey } from '../src/billing/api-keys.js';
import { ledgerMismatches, refund } from '../src/billing/credits.js';
import { failJob } from '../src/jobs/job-lifecycle.js';
import { KodahError } from '../src/lib/errors.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { databaseKinds } from './helpers/test-database.js';

const count = (statuses: number[]) => statuses.reduce<Record<number, number>>((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {});

describe.each(databaseKinds)('credits and limits on %s', (kind) => {
  let git: GitHttpServer;
  const clock = {
    at: new Date('2026-11-30T23:59:00Z'),
    now() {
      return this.at;
    },
  };
  let app: TestApp;
  let paidOnly: TestApp;
  const body = () => ({ repo_url: git.url('shop'), task: 'fix', description: 'TypeError in calculate_total' });

  beforeAll(async () => {
    git = await startGitHttpServer();
    git.createRepo('shop', { 'processor.py': 'total = 0\n' });
    // No workers: accepted jobs stay queued, so nothing is refunded behind the test's back.
    app = await startTestApp(kind, { workers: false, clock, env: { KODAH_MAX_QUEUED_JOBS: '1000' } });
    paidOnly = await startTestApp(kind, { workers: false, env: { KODAH_FREE_FIXES_PER_MONTH: '0' } });
  });
  afterAll(async () => {
    await app?.stop();
    await paidOnly?.stop();
    await git?.close();
  });

  it('50 parallel submissions with credit for one: one 202 and 49 402s, balance never negative', async () => {
    const { key } = await paidOnly.account({ paidCents: 50 });
    const results = await Promise.all(Array.from({ length: 50 }, () => paidOnly.api(key, 'POST', '/jobs', body())));
    expect(count(results.map((r) => r.status))).toEqual({ 202: 1, 402: 49 });
    expect(new Set(results.filter((r) => r.status === 402).map((r) => r.body.detail))).toEqual(new Set(['No credits remaining']));
    const account = (await paidOnly.api(key, 'GET', '/account')).body;
    expect(account).toMatchObject({ free_credits: 0, paid_balance_cents: 0, running_jobs: 1 });
    expect(await ledgerMismatches(paidOnly.kodah.db)).toEqual([]);
  });

  it('50 parallel submissions with credit for all but a limit of one: one 202 and 49 429s with Retry-After', async () => {
    const { key } = await paidOnly.account({ paidCents: 5000 });
    const results = await Promise.all(Array.from({ length: 50 }, () => paidOnly.api(key, 'POST', '/jobs', body())));
    expect(count(results.map((r) => r.status))).toEqual({ 202: 1, 429: 49 });
    const accepted = results.find((r) => r.status === 202)!.body.job_id;
    const rejected = results.find((r) => r.status === 429)!;
    // The 429 names the job that holds the account's one slot, and the limit.
    expect(rejected.body).toEqual({
      detail: `Job already in progress: 1 of 1 allowed (${accepted}); wait for one to finish or cancel it`,
      running_jobs: [accepted],
      max_running_jobs: 1,
    });
    expect(Number(rejected.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await paidOnly.api(key, 'GET', '/account')).body.paid_balance_cents).toBe(4950);
  });

  it("429 Job already in progress names every job that holds the account's slots, oldest first, and its own limit", async () => {
    const { key } = await paidOnly.account({ paidCents: 500, maxRunningJobs: 2 });
    const first = (await paidOnly.api(key, 'POST', '/jobs', body())).body.job_id;
    const second = (await paidOnly.api(key, 'POST', '/jobs', body())).body.job_id;
    const third = await paidOnly.api(key, 'POST', '/jobs', body());
    expect(third.status).toBe(429);
    expect(third.body).toEqual({
      detail: `Job already in progress: 2 of 2 allowed (${first}, ${second}); wait for one to finish or cancel it`,
      running_jobs: [first, second],
      max_running_jobs: 2,
    });
    // Cancelling one frees its slot.
    expect((await paidOnly.api(key, 'POST', `/jobs/${first}/cancel`)).status).toBe(200);
    expect((await paidOnly.api(key, 'POST', '/jobs', body())).status).toBe(202);
  });

  it('429 Server at capacity when the queue is full, and the rejected account keeps its credit', async () => {
    const full = await startTestApp(kind, { workers: false, env: { KODAH_MAX_QUEUED_JOBS: '2' } });
    try {
      const accounts = [await full.account(), await full.account(), await full.account()];
      expect((await full.api(accounts[0]!.key, 'POST', '/jobs', body())).status).toBe(202);
      expect((await full.api(accounts[1]!.key, 'POST', '/jobs', body())).status).toBe(202);
      const res = await full.api(accounts[2]!.key, 'POST', '/jobs', body());
      expect(res.status).toBe(429);
      expect(res.body).toEqual({ detail: 'Server at capacity' });
      expect(res.headers.get('retry-after')).toBe('30');
      expect((await full.api(accounts[2]!.key, 'GET', '/account')).body.free_credits).toBe(10);
    } finally {
      await full.stop();
    }
  });

  it('free fixes: 10 a calendar month (UTC), then paid credits, then 402; reset on the 1st without carry-over', async () => {
    clock.at = new Date('2026-11-30T23:59:00Z');
    const { id, key } = await app.account({ maxRunningJobs: 100, paidCents: 50 });
    for (let i = 0; i < 10; i++) expect((await app.api(key, 'POST', '/jobs', body())).status).toBe(202);
    expect((await app.api(key, 'GET', '/account')).body).toMatchObject({ free_credits: 0, paid_balance_cents: 50 });
    expect((await app.api(key, 'POST', '/jobs', body())).status).toBe(202); // the paid one
    const broke = await app.api(key, 'POST', '/jobs', body());
    expect(broke).toMatchObject({ status: 402, body: { detail: 'No credits remaining' } });

    clock.at = new Date('2026-12-01T00:00:01Z');
    expect((await app.api(key, 'GET', '/account')).body).toMatchObject({
      free_credits: 10,
      paid_balance_cents: 0,
      free_credits_reset_at: '2027-01-01T00:00:00.000Z',
    });
    expect((await app.api(key, 'POST', '/jobs', body())).status).toBe(202);
    expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(9);

    const { rows } = await app.kodah.db.query<{ kind: string; pool: string; period: string | null; n: number; total: number }>(
      `SELECT kind, pool, period, count(*)::int AS n, SUM(amount)::int AS total FROM ledger WHERE account_id = $1
        GROUP BY kind, pool, period ORDER BY kind, pool, period`,
      [id],
    );
    expect(rows).toEqual([
      { kind: 'debit', pool: 'free', period: '2026-11', n: 10, total: -10 },
      { kind: 'debit', pool: 'free', period: '2026-12', n: 1, total: -1 },
      { kind: 'debit', pool: 'paid', period: null, n: 1, total: -50 },
      { kind: 'monthly_grant', pool: 'free', period: '2026-11', n: 1, total: 10 },
      { kind: 'monthly_grant', pool: 'free', period: '2026-12', n: 1, total: 10 },
      { kind: 'purchase', pool: 'paid', period: null, n: 1, total: 50 },
    ]);
  });

  it('a refund happens exactly once, however many settle it at the same time', async () => {
    // No free fixes on this server, so the job is paid and the refund is visible in cents.
    const { key } = await paidOnly.account({ paidCents: 100 });
    const { body: job } = await paidOnly.api(key, 'POST', '/jobs', body());
    expect((await paidOnly.api(key, 'GET', '/account')).body.paid_balance_cents).toBe(50);
    const error = new KodahError('internal', 'boom');
    const settled = await Promise.all([1, 2, 3, 4].map(() => failJob(paidOnly.kodah.db, job.job_id, null, error)));
    expect(settled.filter(Boolean)).toHaveLength(1);
    expect(await paidOnly.kodah.db.transaction((tx) => refund(tx, job.job_id, 'again'))).toBe(false);
    expect((await paidOnly.api(key, 'GET', '/account')).body.paid_balance_cents).toBe(100);
    const { rows } = await paidOnly.kodah.db.query('SELECT 1 FROM ledger WHERE job_id = $1 AND kind = $2', [job.job_id, 'refund']);
    expect(rows).toHaveLength(1);
    expect(await ledgerMismatches(paidOnly.kodah.db)).toEqual([]);
  });

  it('the ledger is append-only', async () => {
    await expect(app.kodah.db.query('UPDATE ledger SET amount = 1000')).rejects.toThrow(/append-only/);
    await expect(app.kodah.db.query('DELETE FROM ledger')).rejects.toThrow(/append-only/);
  });

  it('cancel before work starts refunds; cancelling twice is a 409; the result is a 422', async () => {
    clock.at = new Date();
    const { key } = await app.account();
    const { body: job } = await app.api(key, 'POST', '/jobs', body());
    expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(9);
    const res = await app.api(key, 'POST', `/jobs/${job.job_id}/cancel`);
    expect(res).toMatchObject({ status: 200, body: { status: 'failed', state: 'cancelled', error: 'Job cancelled', refunded: true } });
    expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(10);
    expect((await app.api(key, 'POST', `/jobs/${job.job_id}/cancel`)).status).toBe(409);
    expect(await app.api(key, 'GET', `/jobs/${job.job_id}`)).toMatchObject({ status: 422, body: { detail: 'Job failed: Job cancelled' } });
    // A cancelled job no longer counts against the concurrency limit.
    expect((await app.api(key, 'POST', '/jobs', body())).status).toBe(202);
  });

  it('rotating a key invalidates the old one at once', async () => {
    const { id, key } = await app.account();
    expect((await app.api(key, 'GET', '/account')).status).toBe(200);
    const fresh = await app.kodah.db.transaction((tx) => rotateApiKey(tx, id));
    expect(fresh).toMatch(/^kdh_[A-Za-z0-9_-]{43}$/);
    expect(await app.api(key, 'GET', '/account')).toMatchObject({ status: 401, body: { detail: 'Invalid API key' } });
    expect((await app.api(fresh, 'GET', '/account')).status).toBe(200);
  });
});
