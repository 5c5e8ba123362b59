import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/billing/api-keys.js';
import type { FixEngine, FixResult, FixStep } from '../src/jobs/fix-engine.js';
import { claimJob, completeJob, failJob, noteAttemptFailure, recordCommand, recordStep, reportStage } from '../src/jobs/job-lifecycle.js';
import { KodahError } from '../src/lib/errors.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { startTestApp, type TestApp, waitForJob } from './helpers/test-app.js';
import { databaseKinds } from './helpers/test-database.js';

const step = (n: number, over: Partial<FixStep> = {}): FixStep => ({
  n,
  candidate: 1,
  tool: 'run',
  target: `pytest -x tests/test_${n}.py`,
  outcome: 'exit 1 (1.2 s)',
  ok: false,
  seconds: 1.2,
  ...over,
});

/** A step as the API shows it. */
const shown = (s: FixStep) => ({
  n: s.n,
  candidate: s.candidate,
  tool: s.tool,
  target: s.target,
  outcome: s.outcome,
  ok: s.ok,
  seconds: s.seconds,
});

interface SseEvent {
  event: string;
  id: string | null;
  data: any;
}

/** An open `text/event-stream` answer read event by event; comments are collected apart. */
interface OpenStream {
  res: Response;
  next(timeoutMs?: number): Promise<SseEvent | null>;
  comments: string[];
  close(): void;
}

async function openStream(url: string, key: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { 'x-api-key': key, accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const comments: string[] = [];
  let buffer = '';
  return {
    res,
    comments,
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const cut = buffer.indexOf('\n\n');
        if (cut >= 0) {
          const block = buffer.slice(0, cut).split('\n');
          buffer = buffer.slice(cut + 2);
          const fields = new Map<string, string>();
          for (const line of block) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else fields.set(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart());
          }
          if (!fields.size) continue;
          return { event: fields.get('event') ?? 'message', id: fields.get('id') ?? null, data: JSON.parse(fields.get('data') ?? 'null') };
        }
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no event within ${timeoutMs} ms; buffer: ${JSON.stringify(buffer)}`)),
            deadline - Date.now(),
          );
        });
        const { value, done } = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
        if (done) return null;
        buffer += value;
      }
    },
    close: () => controller.abort(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(databaseKinds)('job events on %s', (kind) => {
  let git: GitHttpServer;
  let app: TestApp;
  let repo: string;

  beforeAll(async () => {
    git = await startGitHttpServer();
    git.createRepo('shop', { 'src/processor.py': 'def calculate_total(items):\n    return sum(i["price"] for i in items)\n' });
    repo = git.url('shop');
    // No workers: the tests move jobs through their lifecycle themselves, steps included.
    app = await startTestApp(kind, { workers: false });
  });
  afterAll(async () => {
    await app?.stop();
    await git?.close();
  });

  /** A job of a new account that attempt 0 holds (running), as a worker would have claimed it. */
  async function runningJob(options: { maxRunningJobs?: number } = {}) {
    const account = await app.account(options);
    const res = await app.api(account.key, 'POST', '/jobs', { repo_url: repo, task: 'fix', description: 'TypeError in calculate_total' });
    expect(res.status).toBe(202);
    const jobId: string = res.body.job_id;
    expect(await claimJob(app.kodah.db, jobId, 0)).toMatchObject({ state: 'running', steps: [] });
    return { ...account, jobId };
  }

  const eventsUrl = (jobId: string, query = '') => `${app.url}/jobs/${jobId}/events${query}`;

  it('serves the steps in order after `after`; the status shows how many and the latest', async () => {
    const { key, jobId } = await runningJob();
    const steps = [step(1, { tool: 'search_code', target: 'calculate_total', outcome: '7 results', ok: true }), step(2), step(3)];
    for (const s of steps) await recordStep(app.kodah.db, jobId, 0, s);
    await reportStage(app.kodah.db, jobId, 0, 'step 3: run pytest -x', 40);

    const all = await app.api(key, 'GET', `/jobs/${jobId}/events`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual({
      job_id: jobId,
      state: 'running',
      stage: 'step 3: run pytest -x',
      progress: 40,
      events: steps.map(shown),
      next_after: 3,
      done: false,
    });
    expect((await app.api(key, 'GET', `/jobs/${jobId}/events?after=1`)).body).toMatchObject({
      events: steps.slice(1).map(shown),
      next_after: 3,
    });
    expect((await app.api(key, 'GET', `/jobs/${jobId}/events?after=3`)).body).toMatchObject({ events: [], next_after: 3, done: false });
    // Beyond the last step: the steps started over (a retry), so they all come again.
    expect((await app.api(key, 'GET', `/jobs/${jobId}/events?after=9`)).body).toMatchObject({ events: steps.map(shown), next_after: 3 });

    const status = await app.api(key, 'GET', `/jobs/${jobId}/status`);
    expect(status.body).toMatchObject({ steps_taken: 3, step: shown(steps[2]!) });
  });

  it("another account's key, an unknown id and a malformed id get the status endpoint's answer", async () => {
    const { jobId } = await runningJob();
    await recordStep(app.kodah.db, jobId, 0, step(1));
    const other = await app.account();
    const status = await app.api(other.key, 'GET', `/jobs/${jobId}/status`);
    expect(status).toMatchObject({ status: 404, body: { detail: 'Job not found' } });
    for (const id of [jobId, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const json = await app.api(other.key, 'GET', `/jobs/${id}/events?after=0`);
      expect({ status: json.status, body: json.body }).toEqual({ status: status.status, body: status.body });
      const sse = await fetch(eventsUrl(id), { headers: { 'x-api-key': other.key, accept: 'text/event-stream' } });
      expect({ status: sse.status, body: await sse.json() }).toEqual({ status: status.status, body: status.body });
    }
    expect((await app.api(null, 'GET', `/jobs/${jobId}/events`)).status).toBe(401);
  });

  it('422 {detail} for an `after` or Last-Event-ID that is not a step number', async () => {
    const { key, jobId } = await runningJob();
    for (const after of ['x', '-1', '1.5', '99999999999']) {
      const res = await app.api(key, 'GET', `/jobs/${jobId}/events?after=${after}`);
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ detail: expect.stringMatching(/^after: must be an integer ≥ 0/) });
    }
    const sse = await fetch(eventsUrl(jobId), { headers: { 'x-api-key': key, accept: 'text/event-stream', 'last-event-id': 'abc' } });
    expect(sse.status).toBe(422);
    expect(await sse.json()).toEqual({ detail: expect.stringMatching(/^Last-Event-ID: must be an integer ≥ 0/) });
  });

  it("a stale attempt's steps are ignored, as are steps after the job settled; a new attempt starts them over", async () => {
    const { key, jobId } = await runningJob();
    await recordStep(app.kodah.db, jobId, 0, step(1));
    await noteAttemptFailure(app.kodah.db, jobId, 0, new KodahError('internal', 'flaky'), 'waiting for a worker (retry)');
    expect(await claimJob(app.kodah.db, jobId, 1)).toMatchObject({ attempt: 1, steps: [] });
    await recordStep(app.kodah.db, jobId, 0, step(2, { target: 'from the stale attempt' }));
    await recordStep(app.kodah.db, jobId, 1, step(1, { target: 'from the new attempt' }));
    expect((await app.api(key, 'GET', `/jobs/${jobId}/events`)).body.events).toEqual([shown(step(1, { target: 'from the new attempt' }))]);

    await failJob(app.kodah.db, jobId, 1, new KodahError('invalid_input', 'no fix', { kind: 'input' }));
    await recordStep(app.kodah.db, jobId, 1, step(2));
    expect((await app.api(key, 'GET', `/jobs/${jobId}/events`)).body).toMatchObject({ state: 'failed', done: true, next_after: 1 });
    expect((await app.api(key, 'GET', `/jobs/${jobId}/status`)).body.steps_taken).toBe(1);
  });

  it('keeps at most 300 steps, with the target cut to 200 characters and the outcome to 300', async () => {
    const { key, jobId } = await runningJob();
    await recordStep(app.kodah.db, jobId, 0, step(1, { target: `${'t'.repeat(199)}😀tail`, outcome: `a\u0000${'o'.repeat(400)}` }));
    for (let n = 2; n <= 301; n++) await recordStep(app.kodah.db, jobId, 0, step(n));
    const status = (await app.api(key, 'GET', `/jobs/${jobId}/status`)).body;
    expect(status.steps_taken).toBe(300);
    expect(status.step.n).toBe(300);
    const first = (await app.api(key, 'GET', `/jobs/${jobId}/events`)).body.events[0];
    // The emoji would be split by the 200th character: it goes whole.
    expect(first.target).toBe('t'.repeat(199));
    expect(first.outcome).toBe(`a${'o'.repeat(299)}`);
    expect((await app.api(key, 'GET', `/jobs/${jobId}/events?after=299`)).body.events.map((s: any) => s.n)).toEqual([300]);
  });

  it('a NUL or a lone surrogate (which jsonb refuses) in what a command printed or a step names is stored without it', async () => {
    const { key, jobId } = await runningJob();
    await recordCommand(app.kodah.db, jobId, 0, {
      phase: 'tests',
      command: 'pytest',
      sandbox: 'none',
      exitCode: 1,
      limit: null,
      seconds: 0.5,
      outputTail: 'bin\u0000ary \ud800 out',
    });
    await recordStep(app.kodah.db, jobId, 0, step(1, { target: 'grep \u0000', outcome: 'odd \udc00' }));
    const status = (await app.api(key, 'GET', `/jobs/${jobId}/status`)).body;
    expect(status.commands[0].output_tail).toBe('binary \ufffd out');
    expect(status.step).toMatchObject({ target: 'grep ', outcome: 'odd \ufffd' });
  });

  it('streams steps recorded after it opened, then `end` once the job settles, and closes', async () => {
    const { key, jobId } = await runningJob();
    await recordStep(app.kodah.db, jobId, 0, step(1));
    const stream = await openStream(eventsUrl(jobId), key);
    try {
      expect(stream.res.status).toBe(200);
      expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(await stream.next()).toEqual({ event: 'step', id: '1', data: shown(step(1)) });
      await recordStep(app.kodah.db, jobId, 0, step(2));
      await recordStep(app.kodah.db, jobId, 0, step(3, { tool: 'edit', target: 'src/processor.py', outcome: 'applied', ok: true }));
      expect(await stream.next()).toEqual({ event: 'step', id: '2', data: shown(step(2)) });
      expect(await stream.next()).toMatchObject({ event: 'step', id: '3', data: { tool: 'edit', ok: true } });
      await completeJob(app.kodah.db, jobId, 0, { diff: 'diff --git a/x b/x\n', filesChanged: ['x'] });
      expect(await stream.next()).toEqual({
        event: 'end',
        id: null,
        data: { job_id: jobId, state: 'completed', stage: 'done', progress: 100 },
      });
      expect(await stream.next()).toBeNull();
    } finally {
      stream.close();
    }
  });

  it("a stream follows a retry: the new attempt's steps come from 1 again", async () => {
    const { key, jobId } = await runningJob();
    for (let n = 1; n <= 3; n++) await recordStep(app.kodah.db, jobId, 0, step(n));
    const stream = await openStream(eventsUrl(jobId), key);
    try {
      for (let n = 1; n <= 3; n++) expect(await stream.next()).toMatchObject({ event: 'step', id: String(n) });
      await noteAttemptFailure(app.kodah.db, jobId, 0, new KodahError('internal', 'flaky'), 'waiting for a worker (retry)');
      await claimJob(app.kodah.db, jobId, 1);
      await recordStep(app.kodah.db, jobId, 1, step(1, { target: 'retried' }));
      await recordStep(app.kodah.db, jobId, 1, step(2, { target: 'retried' }));
      expect(await stream.next()).toEqual({ event: 'step', id: '1', data: shown(step(1, { target: 'retried' })) });
      expect(await stream.next()).toEqual({ event: 'step', id: '2', data: shown(step(2, { target: 'retried' })) });
    } finally {
      stream.close();
    }
  });

  it('a worker hands the engine recordStep: the steps it records show while it runs', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const engine: FixEngine = {
      async fix(_request, context) {
        await context.recordStep?.(step(1, { tool: 'search_code', target: 'calculate_total', outcome: '2 results', ok: true }));
        await context.report('step 1: search_code calculate_total', 30);
        await released;
        return { diff: 'diff --git a/x b/x\n', filesChanged: ['x'], mode: 'agent' };
      },
    };
    const own = await startTestApp(kind, { engine });
    try {
      const { key } = await own.account();
      const { body } = await own.api(key, 'POST', '/jobs', { repo_url: repo, task: 'fix', description: 'a bug' });
      // The engine records the step, then reports the stage: two writes, so poll until both have landed.
      let status: any;
      for (let i = 0; i < 200 && !(status?.step && status.stage?.startsWith('step 1')); i++) {
        await sleep(50);
        status = (await own.api(key, 'GET', `/jobs/${body.job_id}/status`)).body;
      }
      expect(status).toMatchObject({ state: 'running', stage: 'step 1: search_code calculate_total', steps_taken: 1 });
      expect(status.step).toMatchObject({ n: 1, tool: 'search_code', ok: true });
      release();
      const done = await waitForJob(own, key, body.job_id);
      expect(done).toMatchObject({ state: 'completed', steps_taken: 1 });
      expect((await own.api(key, 'GET', `/jobs/${body.job_id}`)).body).toMatchObject({
        mode: 'agent',
        steps: [{ n: 1, target: 'calculate_total' }],
      });
    } finally {
      release();
      await own.stop();
    }
  });

  it('honours Last-Event-ID as `after`; a settled job streams its steps and `end` at once', async () => {
    const { key, jobId } = await runningJob();
    for (let n = 1; n <= 3; n++) await recordStep(app.kodah.db, jobId, 0, step(n));
    await failJob(app.kodah.db, jobId, 0, new KodahError('invalid_input', 'no fix', { kind: 'input' }));
    const stream = await openStream(eventsUrl(jobId, '?after=0'), key, { 'last-event-id': '2' });
    try {
      expect(await stream.next()).toMatchObject({ event: 'step', id: '3' });
      expect(await stream.next()).toMatchObject({ event: 'end', data: { state: 'failed' } });
      expect(await stream.next()).toBeNull();
    } finally {
      stream.close();
    }
  });

  it('reads the database at most every 500 ms per stream, and not at all once the client left', async () => {
    const { key, jobId } = await runningJob();
    const db = app.kodah.db;
    const original = db.query;
    let reads = 0;
    db.query = ((sql: string, params?: unknown[]) => {
      if (sql.includes('WITH ORDINALITY') && params?.[0] === jobId) reads++;
      return original.call(db, sql, params);
    }) as typeof db.query;
    try {
      const stream = await openStream(eventsUrl(jobId), key);
      await sleep(2_100);
      // The first read answers the request; then one every 500 ms at most.
      expect(reads).toBeGreaterThanOrEqual(3);
      expect(reads).toBeLessThanOrEqual(6);
      stream.close();
      await sleep(700);
      const after = reads;
      await sleep(1_500);
      expect(reads).toBe(after);
    } finally {
      db.query = original;
    }
  });

  it('caps open streams at 5 per API key (429 for the 6th); a closed one frees its place; another key has its own', async () => {
    const { id, key, jobId } = await runningJob();
    const streams = await Promise.all(Array.from({ length: 5 }, () => openStream(eventsUrl(jobId), key)));
    try {
      expect(streams.map((s) => s.res.status)).toEqual([200, 200, 200, 200, 200]);
      const sixth = await fetch(eventsUrl(jobId), { headers: { 'x-api-key': key, accept: 'text/event-stream' } });
      expect(sixth.status).toBe(429);
      expect(await sixth.json()).toEqual({ detail: 'Too many open event streams for this API key (at most 5): close one first' });
      // Plain JSON polls are not streams: still answered.
      expect((await app.api(key, 'GET', `/jobs/${jobId}/events`)).status).toBe(200);

      const secondKey = await createApiKey(app.kodah.db, id);
      const other = await openStream(eventsUrl(jobId), secondKey);
      expect(other.res.status).toBe(200);
      other.close();

      streams.pop()!.close();
      let again: OpenStream | undefined;
      for (let i = 0; i < 50 && again?.res.status !== 200; i++) {
        again?.close();
        await sleep(100);
        again = await openStream(eventsUrl(jobId), key);
      }
      expect(again!.res.status).toBe(200);
      streams.push(again!);
    } finally {
      for (const s of streams) s.close();
    }
  });

  it('the result carries mode, steps, tests and candidates; without them, nulls and the recorded steps', async () => {
    const { key, jobId } = await runningJob({ maxRunningJobs: 2 });
    const steps = [step(1, { tool: 'read_file', target: 'src/processor.py:1-20', outcome: '20 lines', ok: true }), step(2)];
    const result: FixResult = {
      diff: 'diff --git a/src/processor.py b/src/processor.py\n',
      filesChanged: ['src/processor.py'],
      mode: 'agent',
      steps,
      tests: {
        before: { command: 'pytest -x', exitCode: 1, failed: ['tests/test_processor.py::test_total'], passed: 3, seconds: 1.5 },
        after: { command: 'pytest -x', exitCode: 0, failed: [], passed: 4, seconds: 1.4 },
      },
      candidates: { tried: 3, winner: 2, why: 'the smallest diff that passes the tests' },
    };
    expect(await completeJob(app.kodah.db, jobId, 0, result)).toBe(true);
    const res = await app.api(key, 'GET', `/jobs/${jobId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      mode: 'agent',
      steps: steps.map(shown),
      tests: {
        before: { command: 'pytest -x', exit_code: 1, failed: ['tests/test_processor.py::test_total'], passed: 3, seconds: 1.5 },
        after: { command: 'pytest -x', exit_code: 0, failed: [], passed: 4, seconds: 1.4 },
      },
      candidates: { tried: 3, winner: 2, why: 'the smallest diff that passes the tests' },
    });
    expect((await app.api(key, 'GET', `/jobs/${jobId}/status`)).body).toMatchObject({ state: 'completed', steps_taken: 0, step: null });

    const plain = await app.api(key, 'POST', '/jobs', { repo_url: repo, task: 'fix', description: 'another bug' });
    await claimJob(app.kodah.db, plain.body.job_id, 0);
    await recordStep(app.kodah.db, plain.body.job_id, 0, step(1));
    await completeJob(app.kodah.db, plain.body.job_id, 0, { diff: 'diff --git a/x b/x\n', filesChanged: ['x'] });
    expect((await app.api(key, 'GET', `/jobs/${plain.body.job_id}`)).body).toMatchObject({
      mode: null,
      steps: [shown(step(1))],
      tests: null,
      candidates: null,
    });
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await app.api(null, 'GET', '/docs/json')).body;
    const events = doc.paths['/jobs/{id}/events'].get;
    expect(events.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['id', 'after']));
    expect(Object.keys(events.responses['200'].content['application/json'].schema.properties)).toEqual([
      'job_id',
      'state',
      'stage',
      'progress',
      'events',
      'next_after',
      'done',
    ]);
    expect(events.responses['200'].description).toMatch(/text\/event-stream/);
    const status = doc.paths['/jobs/{id}/status'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(status.properties)).toEqual(expect.arrayContaining(['steps_taken', 'step']));
  });

  it('a stopping server ends its open streams instead of waiting for their jobs', async () => {
    const own = await startTestApp(kind, { workers: false });
    const account = await own.account();
    const job = await own.api(account.key, 'POST', '/jobs', { repo_url: repo, task: 'fix', description: 'a bug' });
    await claimJob(own.kodah.db, job.body.job_id, 0);
    const stream = await openStream(`${own.url}/jobs/${job.body.job_id}/events`, account.key);
    expect(stream.res.status).toBe(200);
    // Without ending the streams, the HTTP server's close waits for the job: stop would hang.
    const stopped = await Promise.race([own.stop().then(() => 'stopped'), sleep(15_000).then(() => 'still waiting')]);
    expect(stopped).toBe('stopped');
    expect(await stream.next().catch(() => null)).toBeNull();
  });
});
