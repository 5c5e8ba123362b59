import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerMismatches } from '../src/billing/credits.js';
import { claimJob, completeJob, failJob } from '../src/jobs/job-lifecycle.js';
import { FIX_QUEUE } from '../src/jobs/fix-queue.js';
import { reconcileLostJobs } from '../src/jobs/reconcile-jobs.js';
import { KodahError } from '../src/lib/errors.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { freePort } from './helpers/kodah-process.js';
import { startTestApp, type TestApp, waitForJob } from './helpers/test-app.js';
import { createTestDatabase, databaseKinds } from './helpers/test-database.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(databaseKinds)('jobs API on %s', (kind) => {
  let git: GitHttpServer;
  let app: TestApp;
  let repo: string;

  beforeAll(async () => {
    git = await startGitHttpServer();
    git.createRepo('shop', { 'src/processor.py': 'def calculate_total(items):\n    return sum(i["price"] for i in items)\n' });
    git.createRepo('secret', { 'app.py': 'print(1)\n' }, { private: true });
    git.git('shop', 'tag', 'v1.0', 'main');
    repo = git.url('shop');
    // nonexistent.invalid: an allowed host whose name never resolves (RFC 6761 reserves .invalid).
    app = await startTestApp(kind, {
      env: { KODAH_GIT_TOKENS: `127.0.0.1=${git.token}`, KODAH_GIT_HOSTS: 'github.com,nonexistent.invalid' },
    });
  });
  afterAll(async () => {
    await app?.stop();
    await git?.close();
  });

  const fix = (over: Record<string, unknown> = {}) => ({
    repo_url: repo,
    task: 'fix',
    description: 'TypeError in calculate_total',
    ...over,
  });

  describe('authentication', () => {
    it('401 comes before the body is looked at', async () => {
      const res = await app.api(null, 'POST', '/jobs', '{not json');
      expect(res).toMatchObject({ status: 401, body: { detail: 'Missing API key: send it in the X-API-Key header' } });
    });

    it('401 without a key, with a malformed key and with an unknown key', async () => {
      for (const key of [null, 'nope', `kdh_${'a'.repeat(43)}`]) {
        const res = await app.api(key, 'POST', '/jobs', fix());
        expect(res.status).toBe(401);
        expect(typeof res.body.detail).toBe('string');
      }
      expect((await app.api(`kdh_${'b'.repeat(43)}`, 'GET', '/account')).body).toEqual({ detail: 'Invalid API key' });
    });
  });

  describe('GET /account', () => {
    it('shows the contract fields, money exact', async () => {
      const { key } = await app.account({ paidCents: 1005 });
      const res = await app.api(key, 'GET', '/account');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ free_credits: 10, paid_balance: 10.05, fix_price_usd: 0.5, paid_balance_cents: 1005 });
      expect(res.body.email).toMatch(/@example.com$/);
    });
  });

  describe('POST /jobs validation (422 naming the field)', () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['missing repo_url', { task: 'fix', description: 'x' }, /^repo_url/],
      ['wrong task', { repo_url: 'https://github.com/a/b', task: 'refactor', description: 'x' }, /^task: must be "fix"/],
      ['empty description', { repo_url: 'https://github.com/a/b', task: 'fix', description: '   ' }, /^description: must not be empty/],
      [
        'huge description',
        { repo_url: 'https://github.com/a/b', task: 'fix', description: 'x'.repeat(65 * 1024) },
        /^description: must be at most/,
      ],
      [
        'NUL in description',
        { repo_url: 'https://github.com/a/b', task: 'fix', description: 'a\u0000b' },
        /^description: must not contain NUL/,
      ],
      ['array body', [], /expected object/],
      ['option-like ref', { repo_url: 'https://github.com/a/b', task: 'fix', description: 'x', ref: '--upload-pack=sh' }, /^ref:/],
      ['range ref', { repo_url: 'https://github.com/a/b', task: 'fix', description: 'x', ref: 'a..b' }, /^ref:/],
      ['not a URL', { repo_url: 'github.com/a/b', task: 'fix', description: 'x' }, /^repo_url: must be a full URL/],
      ['ftp URL', { repo_url: 'ftp://github.com/a/b', task: 'fix', description: 'x' }, /^repo_url: must use https/],
      [
        'credentials in URL',
        { repo_url: 'https://u:p@github.com/a/b', task: 'fix', description: 'x' },
        /^repo_url: must not contain credentials/,
      ],
      [
        'host not allowed',
        { repo_url: 'https://93.184.216.34/a/b', task: 'fix', description: 'x' },
        /^repo_url: host 93.184.216.34 is not allowed/,
      ],
      ['no repository path', { repo_url: 'https://github.com/', task: 'fix', description: 'x' }, /^repo_url: must name a repository/],
    ];
    it.each(cases)('%s', async (_name, body, detail) => {
      const { key } = await app.account();
      const res = await app.api(key, 'POST', '/jobs', body);
      expect(res.status).toBe(422);
      expect(res.body.detail).toMatch(detail);
    });

    it('malformed JSON is a 422 too, and nothing is charged', async () => {
      const { key } = await app.account();
      const res = await app.api(key, 'POST', '/jobs', '{"repo_url": ');
      expect(res.status).toBe(422);
      expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(10);
    });
  });

  describe('repository checks', () => {
    it('422 for a host off the allow-list, decided before any DNS lookup, and nothing charged', async () => {
      const { key } = await app.account();
      const gitlab = await app.api(key, 'POST', '/jobs', fix({ repo_url: 'https://gitlab.com/a/b' }));
      expect(gitlab.status).toBe(422);
      expect(gitlab.body.detail).toMatch(/^repo_url: host gitlab\.com is not allowed \(allowed: github\.com, nonexistent\.invalid/);
      // A name that cannot resolve: looked up first, it would be a 404 or a 503, never this 422.
      const unlisted = await app.api(key, 'POST', '/jobs', fix({ repo_url: 'https://unlisted.invalid/a/b' }));
      expect(unlisted).toMatchObject({
        status: 422,
        body: { detail: expect.stringMatching(/^repo_url: host unlisted\.invalid is not allowed/) },
      });
      expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(10);
    });

    it('503 with Retry-After, naming the host, for an allowed host that does not resolve; nothing charged', async () => {
      const { key } = await app.account({ paidCents: 100 });
      const res = await app.api(key, 'POST', '/jobs', fix({ repo_url: 'https://nonexistent.invalid/owner/repo' }));
      expect(res.status).toBe(503);
      expect(res.body.detail).toMatch(/^Could not reach the repository host nonexistent\.invalid: its name could not be resolved/);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await app.api(key, 'GET', '/account')).body).toMatchObject({ free_credits: 10, paid_balance_cents: 100, running_jobs: 0 });
    });

    it('503 for an allowed host that refuses the connection, 404 only when the host says there is no repository', async () => {
      const { key } = await app.account();
      const closed = await freePort();
      const refused = await app.api(key, 'POST', '/jobs', fix({ repo_url: `http://127.0.0.1:${closed}/owner/repo` }));
      expect(refused.status).toBe(503);
      expect(refused.body.detail).toMatch(/^Could not reach the repository host 127\.0\.0\.1: git said: .*(connect|refused)/i);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // A failure to reach is not remembered: the same URL answers again once something listens.
      const missing = await app.api(key, 'POST', '/jobs', fix({ repo_url: git.url('no-such-repo') }));
      expect(missing).toMatchObject({ status: 404, body: { detail: 'Repository not found' } });
      expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(10);
    });

    it('404 Repository not found for a missing repository', async () => {
      const { key } = await app.account();
      const res = await app.api(key, 'POST', '/jobs', fix({ repo_url: git.url('nothing-here') }));
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ detail: 'Repository not found' });
    });

    it('404 for a URL that serves something other than git', async () => {
      const { key } = await app.account();
      const res = await app.api(key, 'POST', '/jobs', fix({ repo_url: `${app.url}/docs/owner/repo` }));
      expect(res).toMatchObject({ status: 404, body: { detail: 'Repository not found' } });
    });

    it('404 for a ref that does not exist; a tag and a full sha are accepted', async () => {
      const { key } = await app.account({ maxRunningJobs: 5 });
      const missing = await app.api(key, 'POST', '/jobs', fix({ ref: 'no-such-branch' }));
      expect(missing.status).toBe(404);
      expect(missing.body.detail).toBe('Ref not found: no-such-branch');
      expect((await app.api(key, 'POST', '/jobs', fix({ ref: 'v1.0' }))).status).toBe(202);
      const sha = git.git('shop', 'rev-parse', 'main');
      expect((await app.api(key, 'POST', '/jobs', fix({ ref: sha }))).status).toBe(202);
      const short = await app.api(key, 'POST', '/jobs', fix({ ref: 'abcdef1' }));
      expect(short).toMatchObject({
        status: 404,
        body: { detail: expect.stringMatching(/^Ref not found: abcdef1 \(.*full 40-character sha\)$/) },
      });
    });

    it('a branch pushed after the repository was checked is found (the cached answer is asked again)', async () => {
      const { key } = await app.account({ maxRunningJobs: 5 });
      expect((await app.api(key, 'POST', '/jobs', fix())).status).toBe(202);
      git.git('shop', 'branch', 'just-pushed', 'main');
      expect((await app.api(key, 'POST', '/jobs', fix({ ref: 'just-pushed' }))).status).toBe(202);
    });

    it('402 for a private repository without paid credits, 202 with them (paid credit used)', async () => {
      // Both may read it with the operator's token (test/operator-git-tokens.test.ts: those that may not).
      const poor = await app.account({ operatorTokens: true });
      const res = await app.api(poor.key, 'POST', '/jobs', fix({ repo_url: git.url('secret') }));
      expect(res.status).toBe(402);
      expect(res.body).toEqual({ detail: 'Private repos require paid credits' });

      const rich = await app.account({ paidCents: 100, operatorTokens: true });
      const ok = await app.api(rich.key, 'POST', '/jobs', fix({ repo_url: git.url('secret') }));
      expect(ok.status).toBe(202);
      const account = (await app.api(rich.key, 'GET', '/account')).body;
      expect(account.free_credits).toBe(10);
      // Debited 0.50; the engine then fails as our error and refunds it.
      const status = await waitForJob(app, rich.key, ok.body.job_id);
      expect(status).toMatchObject({ status: 'failed', error: 'fix engine not configured', refunded: true });
      expect((await app.api(rich.key, 'GET', '/account')).body.paid_balance_cents).toBe(100);
    });
  });

  describe('without a model', () => {
    it('POST /jobs answers 503 at once, saying the operator must configure one; nothing is charged', async () => {
      const bare = await startTestApp(kind, { workers: false, engine: null });
      try {
        const { key } = await bare.account({ paidCents: 100 });
        const res = await bare.api(key, 'POST', '/jobs', fix());
        expect(res.status).toBe(503);
        expect(res.body.detail).toMatch(/^No fix engine: .*no model configured.*OPENAI_BASE_URL.*KODAH_MODEL/);
        expect((await bare.api(key, 'GET', '/account')).body).toMatchObject({ free_credits: 10, paid_balance_cents: 100, running_jobs: 0 });
        expect((await bare.api(key, 'GET', '/jobs')).body.jobs).toEqual([]);
        // A bad body is still the caller's 422 (validation runs before the handler).
        expect((await bare.api(key, 'POST', '/jobs', { task: 'fix' })).status).toBe(422);
      } finally {
        await bare.stop();
      }
    });
  });

  describe('requests without a body', () => {
    it('are accepted whatever their Content-Type says', async () => {
      const { key } = await app.account({ maxRunningJobs: 5 });
      const { body } = await app.api(key, 'POST', '/jobs', fix());
      for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
        const res = await fetch(`${app.url}/jobs/${body.job_id}/status`, { headers: { 'x-api-key': key, 'content-type': type } });
        expect(res.status, type).toBe(200);
      }
      // POST with no body and a JSON type: the route answers (409 or 200), not 422 "must be a JSON object".
      const cancel = await fetch(`${app.url}/jobs/${body.job_id}/cancel`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
      });
      expect([200, 409]).toContain(cancel.status);
      // A body that is there is still parsed: an empty JSON body is refused, a broken one too.
      const broken = await fetch(`${app.url}/jobs`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: '{',
      });
      expect(broken.status).toBe(422);
    });
  });

  describe('job lifecycle with the unconfigured engine', () => {
    it('202 → running → failed as a system error, refunded exactly once; 422 on the result', async () => {
      const { key } = await app.account();
      const res = await app.api(key, 'POST', '/jobs', fix());
      expect(res.status).toBe(202);
      expect(Object.keys(res.body)).toEqual(['job_id']);
      expect(res.body.job_id).toMatch(UUID);
      expect((await app.api(key, 'GET', '/account')).body.free_credits).toBeLessThanOrEqual(10);

      const status = await waitForJob(app, key, res.body.job_id);
      expect(status).toMatchObject({
        job_id: res.body.job_id,
        status: 'failed',
        state: 'failed',
        error: 'fix engine not configured',
        error_kind: 'system',
        refunded: true,
      });
      expect(status.completed_at).not.toBeNull();
      expect(status.elapsed_s).toBeGreaterThanOrEqual(0);
      expect(status.commit_sha).toBe(git.git('shop', 'rev-parse', 'main'));

      const result = await app.api(key, 'GET', `/jobs/${res.body.job_id}`);
      expect(result.status).toBe(422);
      expect(result.body).toEqual({ detail: 'Job failed: fix engine not configured' });
      expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(10);

      const { rows } = await app.kodah.db.query<{ kind: string; amount: number }>(
        'SELECT kind, amount FROM ledger WHERE job_id = $1 ORDER BY id',
        [res.body.job_id],
      );
      expect(rows).toEqual([
        { kind: 'debit', amount: -1 },
        { kind: 'refund', amount: 1 },
      ]);
    });

    /**
     * Accepts a job with no worker running, lets `meanwhile` change the repository, then runs a
     * worker over the same database and returns the job's final status and the account.
     */
    async function acceptThenWork(body: Record<string, unknown>, meanwhile: () => void, env: Record<string, string> = {}) {
      const database = await createTestDatabase(kind);
      const api = await startTestApp(kind, { database, workers: false, env });
      const { key } = await api.account();
      const res = await api.api(key, 'POST', '/jobs', body);
      expect(res.status).toBe(202);
      expect(await api.api(key, 'GET', `/jobs/${res.body.job_id}`)).toMatchObject({ status: 425, body: { detail: 'Job still running' } });
      meanwhile();
      await api.stop();

      const worker = await startTestApp(kind, { database, env });
      try {
        const status = await waitForJob(worker, key, res.body.job_id);
        return { status, account: (await worker.api(key, 'GET', '/account')).body };
      } finally {
        await worker.stop();
        await database.drop();
      }
    }

    it('an input failure (the ref vanished before a worker ran) fails without a refund', async () => {
      git.git('shop', 'branch', 'short-lived', 'main');
      const { status, account } = await acceptThenWork(fix({ ref: 'short-lived' }), () => git.git('shop', 'branch', '-D', 'short-lived'));
      expect(status).toMatchObject({ status: 'failed', error: 'Ref not found: short-lived', error_kind: 'input', refunded: false });
      expect(account.free_credits).toBe(9);
    });

    it('a completed job serves its diff; a second completion (a duplicate run) changes nothing', async () => {
      const api = await startTestApp(kind, { workers: false });
      try {
        const { key } = await api.account();
        const { body } = await api.api(key, 'POST', '/jobs', fix());
        expect(await claimJob(api.kodah.db, body.job_id, 0)).toMatchObject({ state: 'running' });
        expect(await claimJob(api.kodah.db, body.job_id, 0)).toBeNull();
        const result = {
          diff: 'diff --git a/x b/x\n',
          explanation: 'cast to float',
          filesChanged: ['x'],
          usage: { promptTokens: 10, completionTokens: 5 },
        };
        expect(await completeJob(api.kodah.db, body.job_id, 0, result)).toBe(true);
        expect(await completeJob(api.kodah.db, body.job_id, 0, { ...result, diff: 'other' })).toBe(false);
        expect(await failJob(api.kodah.db, body.job_id, null, new KodahError('internal', 'late'))).toBe(false);
        const res = await api.api(key, 'GET', `/jobs/${body.job_id}`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({
          job_id: body.job_id,
          status: 'completed',
          diff: result.diff,
          explanation: 'cast to float',
          files_changed: ['x'],
          usage: { prompt_tokens: 10, completion_tokens: 5, cost_usd: null },
        });
        expect((await api.api(key, 'GET', `/jobs/${body.job_id}/status`)).body).toMatchObject({
          status: 'completed',
          progress: 100,
          refunded: false,
        });
        expect((await api.api(key, 'GET', '/account')).body.free_credits).toBe(9);
      } finally {
        await api.stop();
      }
    });

    it('a repository that vanished before a worker ran is our failure: refunded', async () => {
      git.createRepo('vanishing', { 'a.py': 'x = 1\n' });
      // A job keeps the retry limit of the queue it was sent to, so both processes get it.
      const { status, account } = await acceptThenWork(fix({ repo_url: git.url('vanishing') }), () => git.removeRepo('vanishing'), {
        KODAH_JOB_RETRIES: '0',
      });
      expect(status).toMatchObject({
        status: 'failed',
        error: 'The repository can no longer be read',
        error_kind: 'system',
        refunded: true,
      });
      expect(account.free_credits).toBe(10);
    });

    it('a job the queue lost is failed and refunded by the reconciler; live jobs are left alone', async () => {
      const api = await startTestApp(kind, { workers: false });
      try {
        const { key } = await api.account({ maxRunningJobs: 5 });
        const lost = (await api.api(key, 'POST', '/jobs', fix())).body.job_id;
        const live = (await api.api(key, 'POST', '/jobs', fix())).body.job_id;
        await api.kodah.boss.deleteJob(FIX_QUEUE, lost);
        const deps = { db: api.kodah.db, boss: api.kodah.boss, log: api.kodah.log };
        expect(await reconcileLostJobs(deps, { olderThanS: 0 })).toBe(1);
        expect(await reconcileLostJobs(deps, { olderThanS: 0 })).toBe(0);
        expect((await api.api(key, 'GET', `/jobs/${lost}/status`)).body).toMatchObject({
          status: 'failed',
          error_kind: 'system',
          refunded: true,
        });
        expect((await api.api(key, 'GET', `/jobs/${live}/status`)).body).toMatchObject({ state: 'queued', refunded: false });
        expect((await api.api(key, 'GET', '/account')).body.free_credits).toBe(9);
      } finally {
        await api.stop();
      }
    });

    it('status never costs credits; 404 for unknown, malformed and foreign job ids', async () => {
      const owner = await app.account();
      const other = await app.account();
      const { body } = await app.api(owner.key, 'POST', '/jobs', fix());
      for (let i = 0; i < 5; i++) await app.api(owner.key, 'GET', `/jobs/${body.job_id}/status`);
      await waitForJob(app, owner.key, body.job_id);
      expect((await app.api(owner.key, 'GET', '/account')).body.free_credits).toBe(10);
      for (const [key, id] of [
        [other.key, body.job_id],
        [owner.key, '00000000-0000-4000-8000-000000000000'],
        [owner.key, 'not-a-uuid'],
      ]) {
        for (const path of [`/jobs/${id}`, `/jobs/${id}/status`]) {
          const res = await app.api(key, 'GET', path);
          expect(res.status).toBe(404);
          expect(res.body).toEqual({ detail: 'Job not found' });
        }
      }
    });

    it('GET /jobs lists newest first with a cursor', async () => {
      const { key } = await app.account({ maxRunningJobs: 10 });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await app.api(key, 'POST', '/jobs', fix({ description: `bug ${i}` }))).body.job_id);
      const first = await app.api(key, 'GET', '/jobs?limit=2');
      expect(first.status).toBe(200);
      expect(first.body.jobs.map((j: any) => j.job_id)).toEqual([ids[2], ids[1]]);
      const second = await app.api(key, 'GET', `/jobs?limit=2&cursor=${first.body.next_cursor}`);
      expect(second.body.jobs.map((j: any) => j.job_id)).toEqual([ids[0]]);
      expect(second.body.next_cursor).toBeNull();

      // Three jobs within one millisecond: the cursor keeps the database's microseconds.
      await app.kodah.db.query(
        `UPDATE jobs SET created_at = timestamptz '2026-01-01T00:00:00.000100Z' + (array_position($1::uuid[], id) * interval '1 microsecond')
          WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      const seen: string[] = [];
      let cursor = '';
      for (let page = 0; page < 5; page++) {
        const res = await app.api(key, 'GET', `/jobs?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...res.body.jobs.map((j: any) => j.job_id));
        if (!res.body.next_cursor) break;
        cursor = res.body.next_cursor;
      }
      expect(seen).toEqual([ids[2], ids[1], ids[0]]);
      expect((await app.api(key, 'GET', '/jobs?cursor=garbage')).status).toBe(422);
    });
  });

  describe('other endpoints', () => {
    it('GET /healthz checks the database; /docs serves OpenAPI', async () => {
      expect((await app.api(null, 'GET', '/healthz')).body).toEqual({ status: 'ok', database: kind });
      const doc = await app.api(null, 'GET', '/docs/json');
      expect(doc.status).toBe(200);
      expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/jobs', '/jobs/{id}', '/jobs/{id}/status', '/account']));
      expect((await app.api(null, 'GET', '/docs')).status).toBeLessThan(400);
    });

    it('unknown routes answer {detail}', async () => {
      expect(await app.api(null, 'GET', '/nope')).toMatchObject({ status: 404, body: { detail: 'Not found: GET /nope' } });
    });
  });

  it('the ledger agrees with every cached balance', async () => {
    expect(await ledgerMismatches(app.kodah.db)).toEqual([]);
  });
});
