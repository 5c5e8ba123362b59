import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackBody } from '../src/http/job-delivery-view.js';
import { checkCallbackUrl, type ResolveHost } from '../src/jobs/callback-url.js';
import { type CallbackDeps, deliverCallback } from '../src/jobs/deliver-callback.js';
import { CALLBACK_QUEUE } from '../src/jobs/delivery-queues.js';
import type { FixEngine } from '../src/jobs/fix-engine.js';
import { KodahError } from '../src/lib/errors.js';
import { createLogger } from '../src/lib/logger.js';
import { type CallbackReceiver, type ReceivedCallback, startCallbackReceiver } from './helpers/callback-receiver.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { startTestApp, type TestApp, waitForJob } from './helpers/test-app.js';
import { databaseKinds } from './helpers/test-database.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Scripted DNS: only the names a test set resolve, so nothing here depends on the network. */
function scriptedResolver(names: Map<string, string[] | (() => string[])>): ResolveHost {
  return async (host) => {
    const entry = names.get(host);
    if (!entry) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return (typeof entry === 'function' ? entry() : entry).map((address) => ({ address, family: isIP(address) }));
  };
}

/** Whether a delivery's X-Kodah-Signature-256 is the HMAC-SHA256 of its raw body with `secret`. */
function signedWith(secret: string, delivery: ReceivedCallback): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(delivery.body).digest('hex')}`);
  const given = Buffer.from(String(delivery.headers['x-kodah-signature-256'] ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe.each(databaseKinds)('job callbacks on %s', (kind) => {
  let git: GitHttpServer;
  let receiver: CallbackReceiver;
  let app: TestApp;
  let repo: string;
  const names = new Map<string, string[] | (() => string[])>();
  let release: () => void = () => {};
  let gate = Promise.resolve();
  /** Jobs whose description starts with "wait" hold the (single) worker until release(). */
  const hold = () => {
    gate = new Promise<void>((r) => (release = r));
  };
  const engine: FixEngine = {
    async fix(request) {
      if (request.description.startsWith('wait')) await gate;
      if (request.description.startsWith('fail')) throw new KodahError('job_failed', 'No valid fix (scripted)', { kind: 'input' });
      return { diff: 'diff --git a/x b/x\n', explanation: 'Scripted fix.', filesChanged: ['x'] };
    },
  };

  beforeAll(async () => {
    git = await startGitHttpServer();
    git.createRepo('shop', { 'app.py': 'print(1)\n' });
    git.git('shop', 'tag', 'v1.0', 'main');
    repo = git.url('shop');
    receiver = await startCallbackReceiver();
    app = await startTestApp(kind, {
      engine,
      resolve: scriptedResolver(names),
      env: { KODAH_WORKER_CONCURRENCY: '1', KODAH_CALLBACK_RETRY_DELAY_S: '1', KODAH_JOB_RETRIES: '0' },
    });
  }, 60_000);
  afterAll(async () => {
    release();
    await app?.stop();
    await receiver?.close();
    await git?.close();
  });

  const fix = (over: Record<string, unknown> = {}) => ({ repo_url: repo, task: 'fix', description: 'TypeError in app', ...over });
  const submit = async (key: string, over: Record<string, unknown> = {}) => {
    const res = await app.api(key, 'POST', '/jobs', fix(over));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body.job_id as string;
  };
  const secretOf = async (key: string) => (await app.api(key, 'GET', '/account/callback-secret')).body.secret as string;
  /** The job's callback record once `done` holds for it (the delivery is recorded just after the receiver answers). */
  const callbackOf = async (key: string, jobId: string, done: (cb: any) => boolean) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { body } = await app.api(key, 'GET', `/jobs/${jobId}/status`);
      if (body.callback && done(body.callback)) return body.callback;
      if (Date.now() > deadline) throw new Error(`callback of ${jobId}: ${JSON.stringify(body.callback)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** Resolves once the queue has finished with a job's callback (completed: no retry is coming). */
  const queueDone = async (jobId: string) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const jobs = await app.kodah.boss.findJobs(CALLBACK_QUEUE, { data: { jobId } });
      if (jobs.length === 1 && jobs[0]!.state === 'completed') return jobs[0]!;
      if (Date.now() > deadline) throw new Error(`callback queue job of ${jobId}: ${JSON.stringify(jobs.map((j) => j.state))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('the secret is the same on every read until rotated; another account has its own', async () => {
    const a = await app.account();
    const b = await app.account();
    const first = await app.api(a.key, 'GET', '/account/callback-secret');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ algorithm: 'hmac-sha256', header: 'X-Kodah-Signature-256' });
    expect(first.body.secret).toMatch(/^kcs_[A-Za-z0-9_-]{43}$/);
    expect(await secretOf(a.key)).toBe(first.body.secret);
    expect(await secretOf(b.key)).not.toBe(first.body.secret);
    expect((await app.api(null, 'GET', '/account/callback-secret')).status).toBe(401);
    expect((await app.api(null, 'POST', '/account/callback-secret/rotate')).status).toBe(401);
  });

  it('one signed delivery per finished job: completed, cancelled and failed', async () => {
    const { key } = await app.account({ maxRunningJobs: 5 });
    const secret = await secretOf(key);
    hold();
    const completed = await submit(key, { description: 'wait, then fix', callback_url: `${receiver.url}/hooks/completed` });
    const deadline = Date.now() + 20_000;
    while ((await app.api(key, 'GET', `/jobs/${completed}/status`)).body.state !== 'running') {
      if (Date.now() > deadline) throw new Error('the first job never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The only worker is busy: this one stays queued, so it can be cancelled.
    const cancelled = await submit(key, { callback_url: `${receiver.url}/hooks/cancelled` });
    expect((await app.api(key, 'POST', `/jobs/${cancelled}/cancel`)).body.state).toBe('cancelled');
    const [onCancel] = await receiver.waitFor('/hooks/cancelled', 1);
    release();
    const [onComplete] = await receiver.waitFor('/hooks/completed', 1);
    const failed = await submit(key, { description: 'fail please', callback_url: `${receiver.url}/hooks/failed?run=1` });
    const [onFail] = await receiver.waitFor('/hooks/failed?run=1', 1);

    for (const [jobId, delivery, state, status] of [
      [completed, onComplete!, 'completed', 'completed'],
      [cancelled, onCancel!, 'cancelled', 'failed'],
      [failed, onFail!, 'failed', 'failed'],
    ] as const) {
      expect(delivery.method).toBe('POST');
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(delivery.headers['x-kodah-event']).toBe(`job.${state}`);
      expect(delivery.headers['x-kodah-delivery']).toMatch(UUID);
      expect(signedWith(secret, delivery)).toBe(true);
      expect(signedWith(`${secret}x`, delivery)).toBe(false);
      const body = JSON.parse(delivery.body);
      // The body is the job's status as GET /jobs/{id}/status shows it, without the callback's own record.
      const { callback, ...status_ } = (await app.api(key, 'GET', `/jobs/${jobId}/status`)).body;
      expect(body).toEqual(status_);
      expect(body).toMatchObject({ job_id: jobId, state, status, deliver: null, pull_request_url: null });
      expect(callback).toEqual({
        url: `${receiver.url}/hooks/${state}${state === 'failed' ? '?run=1' : ''}`,
        delivered: true,
        attempts: 1,
        last_status: 200,
        last_error: null,
      });
      await queueDone(jobId);
    }
    expect(JSON.parse(onFail!.body)).toMatchObject({ error: 'No valid fix (scripted)', refunded: false });
    expect(JSON.parse(onCancel!.body)).toMatchObject({ refunded: true });
    // GET /jobs/{id} of the completed job shows the callback beside the diff.
    expect((await app.api(key, 'GET', `/jobs/${completed}`)).body).toMatchObject({
      diff: 'diff --git a/x b/x\n',
      callback: { delivered: true, attempts: 1, last_status: 200 },
    });
    // Exactly one each: every queue job is done, and the receiver saw one request per job.
    for (const path of ['/hooks/completed', '/hooks/cancelled', '/hooks/failed?run=1']) expect(receiver.at(path)).toHaveLength(1);
  });

  it('after a rotation the new secret signs and the old one does not', async () => {
    const { key } = await app.account();
    const old = await secretOf(key);
    const rotated = await app.api(key, 'POST', '/account/callback-secret/rotate');
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(old);
    expect(await secretOf(key)).toBe(rotated.body.secret);
    await submit(key, { callback_url: `${receiver.url}/hooks/rotated` });
    const [delivery] = await receiver.waitFor('/hooks/rotated', 1);
    expect(signedWith(rotated.body.secret, delivery!)).toBe(true);
    expect(signedWith(old, delivery!)).toBe(false);
  });

  it('a receiver answering 500 twice then 200 gets 3 attempts, with the same delivery id', async () => {
    const { key } = await app.account();
    receiver.script('/hooks/flaky', [500, 503, 200]);
    const jobId = await submit(key, { callback_url: `${receiver.url}/hooks/flaky` });
    const deliveries = await receiver.waitFor('/hooks/flaky', 3, 40_000);
    expect(await callbackOf(key, jobId, (cb) => cb.delivered)).toMatchObject({ delivered: true, attempts: 3, last_status: 200 });
    expect(new Set(deliveries.map((d) => d.headers['x-kodah-delivery'])).size).toBe(1);
    expect(new Set(deliveries.map((d) => d.body)).size).toBe(1);
    await queueDone(jobId);
    expect(receiver.at('/hooks/flaky')).toHaveLength(3);
  }, 60_000);

  it('429 is retried; 400 and a redirect are not (and the redirect is not followed)', async () => {
    const { key } = await app.account({ maxRunningJobs: 5 });
    receiver.script('/hooks/limited', [429, 200]);
    receiver.script('/hooks/bad', [400]);
    receiver.script('/hooks/moved', [{ status: 302, location: `${receiver.url}/hooks/elsewhere` }]);
    const limited = await submit(key, { callback_url: `${receiver.url}/hooks/limited` });
    const bad = await submit(key, { callback_url: `${receiver.url}/hooks/bad` });
    const moved = await submit(key, { callback_url: `${receiver.url}/hooks/moved` });
    expect(await callbackOf(key, limited, (cb) => cb.delivered)).toMatchObject({ attempts: 2, last_status: 200 });
    await queueDone(bad);
    await queueDone(moved);
    expect(await callbackOf(key, bad, () => true)).toMatchObject({
      delivered: false,
      attempts: 1,
      last_status: 400,
      last_error: 'answered 400',
    });
    expect(await callbackOf(key, moved, () => true)).toMatchObject({
      delivered: false,
      attempts: 1,
      last_status: 302,
      last_error: expect.stringMatching(/redirects are not followed/),
    });
    expect(receiver.at('/hooks/bad')).toHaveLength(1);
    expect(receiver.at('/hooks/moved')).toHaveLength(1);
    expect(receiver.at('/hooks/elsewhere')).toHaveLength(0);
  }, 60_000);

  it('a name is connected to at the address the resolver gave (no second lookup)', async () => {
    // hooks.kodah.test exists only in the scripted resolver: reaching the receiver proves the
    // socket went where the checked lookup said.
    names.set('hooks.kodah.test', ['127.0.0.1']);
    const { key } = await app.account();
    const jobId = await submit(key, { callback_url: `http://hooks.kodah.test:${receiver.port}/hooks/named` });
    const [delivery] = await receiver.waitFor('/hooks/named', 1);
    expect(delivery!.headers.host).toBe(`hooks.kodah.test:${receiver.port}`);
    expect(await callbackOf(key, jobId, (cb) => cb.delivered)).toMatchObject({ attempts: 1, last_status: 200 });
  });

  it('deliver "pull_request" without the GitHub App is a 422 that says why; the OpenAPI document shows the new fields and routes', async () => {
    const { key } = await app.account();
    const res = await app.api(key, 'POST', '/jobs', fix({ deliver: 'pull_request' }));
    expect(res.status).toBe(422);
    expect(res.body.detail).toMatch(/^deliver: "pull_request" needs the GitHub App, which this server does not have configured/);
    expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(10);
    const doc = (await app.api(null, 'GET', '/docs/json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/jobs/{id}/retry', '/account/callback-secret', '/account/callback-secret/rotate']),
    );
    const submitted = doc.paths['/jobs'].post.requestBody.content['application/json'].schema.properties;
    expect(Object.keys(submitted)).toEqual(expect.arrayContaining(['callback_url', 'deliver']));
    const status = doc.paths['/jobs/{id}/status'].get.responses['200'].content['application/json'].schema.properties;
    expect(Object.keys(status)).toEqual(expect.arrayContaining(['callback', 'deliver', 'pull_request_url']));
  });

  describe('POST /jobs/{id}/retry', () => {
    it('starts a new job with the same input, charged again, and its own callback', async () => {
      const { key } = await app.account();
      const first = await submit(key, { ref: 'v1.0', description: 'fail first', callback_url: `${receiver.url}/hooks/retry` });
      expect(await waitForJob(app, key, first)).toMatchObject({ state: 'failed' });
      expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(9);
      const retried = await app.api(key, 'POST', `/jobs/${first}/retry`);
      expect(retried.status).toBe(202);
      expect(retried.body.job_id).toMatch(UUID);
      expect(retried.body.job_id).not.toBe(first);
      const again = await waitForJob(app, key, retried.body.job_id);
      const original = (await app.api(key, 'GET', `/jobs/${first}/status`)).body;
      for (const field of ['repo_url', 'ref', 'deliver'] as const) expect(again[field]).toEqual(original[field]);
      expect(again.ref).toBe('v1.0');
      expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(8);
      const deliveries = await receiver.waitFor('/hooks/retry', 2);
      expect(deliveries.map((d) => JSON.parse(d.body).job_id).sort()).toEqual([first, retried.body.job_id].sort());
      expect(deliveries[0]!.headers['x-kodah-delivery']).not.toBe(deliveries[1]!.headers['x-kodah-delivery']);
      const { rows } = await app.kodah.db.query<{ description: string }>('SELECT description FROM jobs WHERE id = $1', [
        retried.body.job_id,
      ]);
      expect(rows[0]!.description).toBe('fail first');
    });

    it('409 while the job runs; 404 for another account’s job and for unknown ids', async () => {
      const owner = await app.account({ maxRunningJobs: 5 });
      const other = await app.account();
      hold();
      const running = await submit(owner.key, { description: 'wait for the retry test' });
      try {
        const res = await app.api(owner.key, 'POST', `/jobs/${running}/retry`);
        expect(res.status).toBe(409);
        expect(res.body.detail).toMatch(/^Job still running/);
      } finally {
        release();
      }
      await waitForJob(app, owner.key, running);
      expect((await app.api(other.key, 'POST', `/jobs/${running}/retry`)).status).toBe(404);
      expect((await app.api(owner.key, 'POST', '/jobs/00000000-0000-4000-8000-000000000000/retry')).status).toBe(404);
      expect((await app.api(owner.key, 'POST', '/jobs/not-a-job/retry')).status).toBe(404);
      expect((await app.api(other.key, 'GET', '/account')).body.free_credits).toBe(10);
    });
  });

  describe('the callback URL is an SSRF door', () => {
    let strict: TestApp;
    beforeAll(async () => {
      // Without KODAH_ALLOW_LOCAL_GIT. No worker: nothing here may get as far as a job.
      strict = await startTestApp(kind, { env: { KODAH_ALLOW_LOCAL_GIT: '0' }, workers: false, resolve: scriptedResolver(names) });
    }, 60_000);
    afterAll(async () => {
      await strict?.stop();
    });

    it('refuses internal, metadata, loopback and non-https targets at submit, before any connection or charge', async () => {
      names.set('rebound.kodah.test', ['127.0.0.1']);
      names.set('mixed.kodah.test', ['93.184.216.34', '10.1.2.3']);
      names.set('mapped.kodah.test', ['::ffff:127.0.0.1']);
      const { key } = await strict.account();
      const port = receiver.port;
      const before = receiver.connections();
      const cases: Array<[string, RegExp]> = [
        [`http://127.0.0.1:${port}/hooks/ssrf`, /must use https/],
        [`https://127.0.0.1:${port}/hooks/ssrf`, /127\.0\.0\.1 is an internal address/],
        ['https://10.0.0.1/', /10\.0\.0\.1 is an internal address/],
        ['https://192.168.1.1/', /internal address/],
        ['https://100.64.0.1/', /internal address/],
        ['https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is an internal address/],
        ['https://[fd00:ec2::254]/', /fd00:ec2::254 is an internal address/],
        ['https://metadata.google.internal/computeMetadata/v1/', /host metadata\.google\.internal is internal/],
        [`https://[::1]:${port}/`, /::1 is an internal address/],
        [`https://[::ffff:127.0.0.1]:${port}/`, /internal address/],
        [`https://localhost:${port}/`, /host localhost is internal/],
        [`https://0x7f000001:${port}/`, /127\.0\.0\.1 is an internal address/],
        [`https://2130706433:${port}/`, /127\.0\.0\.1 is an internal address/],
        [`https://rebound.kodah.test:${port}/`, /rebound\.kodah\.test resolves to 127\.0\.0\.1/],
        ['https://mixed.kodah.test/', /mixed\.kodah\.test resolves to 10\.1\.2\.3/],
        [`https://mapped.kodah.test:${port}/`, /resolves to ::ffff:127\.0\.0\.1/],
        ['https://nowhere.kodah.test/', /could not be resolved \(ENOTFOUND\)/],
        ['https://user:pw@example.com/', /must not contain credentials/],
        ['ftp://example.com/', /must use https/],
        ['not a url', /must be a full URL/],
      ];
      for (const [url, detail] of cases) {
        const res = await strict.api(key, 'POST', '/jobs', {
          repo_url: 'https://github.com/a/b',
          task: 'fix',
          description: 'x',
          callback_url: url,
        });
        expect(res.status, url).toBe(422);
        expect(res.body.detail, url).toMatch(/^callback_url: /);
        expect(res.body.detail, url).toMatch(detail);
      }
      expect(receiver.connections()).toBe(before);
      expect((await strict.api(key, 'GET', '/account')).body.free_credits).toBe(10);
      expect((await strict.api(key, 'GET', '/jobs')).body.jobs).toEqual([]);
    });

    it('checks again at delivery against the addresses it connects to: a rebinding name is refused, recorded and never connected', async () => {
      // A job that ended, whose callback was accepted while its name still resolved to a public address.
      const { key } = await app.account();
      const jobId = await submit(key);
      await waitForJob(app, key, jobId);
      let answers = 0;
      names.set('rebind.kodah.test', () => (answers++ === 0 ? ['93.184.216.34'] : ['127.0.0.1']));
      const strictPolicy = { allowLocal: false };
      const url = `https://rebind.kodah.test:${receiver.port}/hooks/rebind`;
      expect(await checkCallbackUrl(url, strictPolicy, scriptedResolver(names))).toBe(url);
      const deps: CallbackDeps = {
        db: app.kodah.db,
        policy: strictPolicy,
        resolve: scriptedResolver(names),
        timeoutMs: 2000,
        render: callbackBody,
        log: createLogger('silent'),
      };
      const before = receiver.connections();
      const hostile = [
        url,
        `https://[::1]:${receiver.port}/hooks/rebind`,
        'https://169.254.169.254/latest/meta-data/',
        `http://127.0.0.1:${receiver.port}/hooks/rebind`,
        `https://mapped.kodah.test:${receiver.port}/hooks/rebind`,
        'https://mixed.kodah.test/hooks/rebind',
      ];
      for (const target of hostile) {
        await app.kodah.db.query(
          `INSERT INTO job_callbacks (job_id, url, delivery_id) VALUES ($1, $2, gen_random_uuid())
           ON CONFLICT (job_id) DO UPDATE SET url = EXCLUDED.url, attempts = 0, last_status = NULL, last_error = NULL`,
          [jobId, target],
        );
        expect(await deliverCallback(deps, jobId), target).toBe('failed');
        const cb = (await app.api(key, 'GET', `/jobs/${jobId}/status`)).body.callback;
        expect(cb, target).toMatchObject({ url: target, delivered: false, attempts: 1, last_status: null });
        expect(cb.last_error, target).toMatch(/^refused: /);
      }
      expect(answers).toBe(2);
      expect(receiver.connections()).toBe(before);
      expect(receiver.at('/hooks/rebind')).toHaveLength(0);
    });

    it('a receiver that never answers times out (a retry); one that answers 200 and stalls or never stops talking delivers it, read no further than a few KB', async () => {
      const { key } = await app.account();
      const jobId = await submit(key);
      await waitForJob(app, key, jobId);
      receiver.script('/hooks/hang', ['hang']);
      receiver.script('/hooks/endless', ['endless']);
      receiver.script('/hooks/stall', ['stall']);
      const deps: CallbackDeps = {
        db: app.kodah.db,
        policy: { allowLocal: true },
        timeoutMs: 500,
        render: callbackBody,
        log: createLogger('silent'),
      };
      const point = (path: string) =>
        app.kodah.db.query(
          `INSERT INTO job_callbacks (job_id, url, delivery_id) VALUES ($1, $2, gen_random_uuid())
           ON CONFLICT (job_id) DO UPDATE SET url = EXCLUDED.url, attempts = 0, last_status = NULL, last_error = NULL`,
          [jobId, `${receiver.url}${path}`],
        );
      await point('/hooks/hang');
      expect(await deliverCallback(deps, jobId)).toBe('retry');
      expect((await app.api(key, 'GET', `/jobs/${jobId}/status`)).body.callback).toMatchObject({
        delivered: false,
        last_status: null,
        last_error: 'no answer within 500 ms',
      });
      // An answer whose body never ends in time still delivered it: the status is what counts.
      await point('/hooks/stall');
      expect(await deliverCallback(deps, jobId)).toBe('delivered');
      expect((await app.api(key, 'GET', `/jobs/${jobId}/status`)).body.callback).toMatchObject({ delivered: true, last_status: 200 });
      await app.kodah.db.query('UPDATE job_callbacks SET delivered_at = NULL WHERE job_id = $1', [jobId]);
      await point('/hooks/endless');
      expect(await deliverCallback(deps, jobId)).toBe('delivered');
      expect((await app.api(key, 'GET', `/jobs/${jobId}/status`)).body.callback).toMatchObject({ delivered: true, last_status: 200 });
      // Delivered once: a second run (a duplicate queue job) sends nothing.
      expect(await deliverCallback(deps, jobId)).toBe('skipped');
      expect(receiver.at('/hooks/endless')).toHaveLength(1);
    });
  });
});
