import { describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { freePort, type KodahProcess, spawnKodah, waitForHealthy } from './helpers/kodah-process.js';
import { callApi, seedAccount, waitForJob } from './helpers/test-app.js';
import { createTestDatabase, databaseKinds, type DatabaseKind, type TestDatabase } from './helpers/test-database.js';

interface Rig {
  git: GitHttpServer;
  database: TestDatabase;
  running: KodahProcess[];
}

/**
 * Each test gets a git server (whose hanging is the test's own), a database and its processes, so
 * that the tests can run at the same time: most of their time is spent waiting for a heartbeat to
 * expire or a time limit to pass, not computing.
 */
async function withRig<T>(kind: DatabaseKind, fn: (rig: Rig) => Promise<T>): Promise<T> {
  const git = await startGitHttpServer();
  git.createRepo('shop', { 'processor.py': 'total = 0\n' });
  const database = await createTestDatabase(kind);
  const rig: Rig = { git, database, running: [] };
  try {
    return await fn(rig);
  } finally {
    const left = rig.running.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const p of left) p.child.kill('SIGKILL');
    await Promise.all(left.map((p) => p.exited));
    await git.close();
    await database.drop();
  }
}

async function start(rig: Rig, env: Record<string, string>) {
  const port = await freePort();
  const proc = spawnKodah(['start'], {
    ...rig.database.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    KODAH_ALLOW_LOCAL_GIT: '1',
    // pg-boss's smallest heartbeat; the monitor that fails a job whose heartbeat stopped runs every second.
    KODAH_JOB_HEARTBEAT_S: '10',
    KODAH_SUPERVISE_INTERVAL_S: '1',
    KODAH_REPO_CHECK_TIMEOUT_MS: '120000',
    ...env,
  });
  rig.running.push(proc);
  const url = `http://127.0.0.1:${port}`;
  // Eight processes may be starting at once on two cores.
  await waitForHealthy(url, proc, 60_000);
  return { proc, api: (key: string | null, method: string, path: string, body?: unknown) => callApi(url, key, method, path, body) };
}

/** Submits a job and waits until a worker is inside it: its ls-remote hangs on the git server. */
async function submitStuckJob(rig: Rig, env: Record<string, string>) {
  const { key } = await seedAccount(rig.database.env);
  // A model (never called: the job is stopped before the engine) so the API accepts the job; the
  // next process has none, and a job it is handed fails as a system error, refunded.
  const first = await start(rig, { ...env, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
  // The API's repository check passes; the worker's own ls-remote then hangs.
  rig.git.hangAfterRefs(1);
  const res = await first.api(key, 'POST', '/jobs', { repo_url: rig.git.url('shop'), task: 'fix', description: 'TypeError' });
  expect(res.status).toBe(202);
  const jobId: string = res.body.job_id;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = (await first.api(key, 'GET', `/jobs/${jobId}/status`)).body;
    if (status.state === 'running' && status.stage === 'resolving ref') break;
    if (Date.now() > deadline) throw new Error(`job never started: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { key, jobId, first };
}

/** Catches a job mid-work, sends `signal` to its process, then lets a fresh process take over. */
function interruptMidJob(kind: DatabaseKind, signal: NodeJS.Signals, env: Record<string, string>) {
  return withRig(kind, async (rig) => {
    const { key, jobId, first } = await submitStuckJob(rig, env);
    first.proc.child.kill(signal);
    const firstExit = await first.proc.exited;
    rig.git.setHang(false);
    const second = await start(rig, env);
    try {
      const status = await waitForJob(second, key, jobId, 60_000);
      const account = (await second.api(key, 'GET', '/account')).body;
      return { status, account, firstExit, firstOutput: first.proc.output() };
    } finally {
      second.proc.child.kill('SIGTERM');
      expect(await second.proc.exited, second.proc.output()).toBe(0);
    }
  });
}

/**
 * Real processes, really killed: `kodah start` runs in a child process, a job is caught mid-work
 * (its worker waits on a git server that never answers), and the process gets SIGKILL or SIGTERM.
 */
// Concurrent tests assert with the `expect` of their own context (vitest's advice for them).
describe.concurrent('a worker that dies or stops mid-job', { timeout: 120_000 }, () => {
  describe.each(databaseKinds)('on %s', (kind) => {
    it('SIGKILL with no retries left: the job fails as a system error and is refunded once', async ({ expect }) => {
      const { status, account } = await interruptMidJob(kind, 'SIGKILL', { KODAH_JOB_RETRIES: '0' });
      expect(status).toMatchObject({ status: 'failed', error_kind: 'system', refunded: true });
      expect(status.error).toMatch(/worker stopped or timed out/);
      expect(account.free_credits).toBe(10);
    });

    it('SIGKILL with a retry left: another attempt runs the job to its end, charged once, refunded once', async ({ expect }) => {
      const { status, account } = await interruptMidJob(kind, 'SIGKILL', { KODAH_JOB_RETRIES: '1' });
      // The retry got past the git server this time and reached the (unconfigured) engine.
      expect(status).toMatchObject({ status: 'failed', error: 'fix engine not configured', refunded: true });
      expect(account.free_credits).toBe(10);
    });

    it('SIGTERM hands a running job back after the grace period; the next process finishes it', async ({ expect }) => {
      const { status, firstExit, firstOutput } = await interruptMidJob(kind, 'SIGTERM', {
        KODAH_JOB_RETRIES: '2',
        KODAH_SHUTDOWN_GRACE_S: '1',
      });
      expect(firstExit).toBe(0);
      expect(firstOutput).toMatch(/handed back to the queue/);
      expect(status).toMatchObject({ status: 'failed', error: 'fix engine not configured', refunded: true });
    });

    it('an attempt over KODAH_JOB_TIMEOUT_S is stopped; with no retries left the job fails and is refunded', async ({ expect }) => {
      await withRig(kind, async (rig) => {
        const env = { KODAH_JOB_RETRIES: '0', KODAH_JOB_TIMEOUT_S: '10' };
        const { key, jobId, first } = await submitStuckJob(rig, env);
        try {
          const status = await waitForJob(first, key, jobId, 60_000);
          expect(status).toMatchObject({ status: 'failed', error_kind: 'system', refunded: true });
          expect(status.error).toMatch(/stopped or timed out.*interrupted/);
          expect(first.proc.output()).toMatch(/attempt interrupted/);
        } finally {
          rig.git.setHang(false);
          first.proc.child.kill('SIGTERM');
          expect(await first.proc.exited).toBe(0);
        }
      });
    });
  });
});
