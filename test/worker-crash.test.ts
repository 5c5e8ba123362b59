import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { freePort, type KodahProcess, spawnKodah, waitForHealthy } from './helpers/kodah-process.js';
import { callApi, seedAccount, waitForJob } from './helpers/test-app.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/test-database.js';

/**
 * Real processes, really killed: `kodah start` runs in a child process, a job is caught mid-work
 * (its worker waits on a git server that never answers), and the process gets SIGKILL or SIGTERM.
 */
describe.each(databaseKinds)('a worker that dies or stops mid-job, on %s', { timeout: 120_000 }, (kind) => {
  let git: GitHttpServer;
  let database: TestDatabase;
  const running: KodahProcess[] = [];

  beforeAll(async () => {
    git = await startGitHttpServer();
    git.createRepo('shop', { 'processor.py': 'total = 0\n' });
  });
  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await git?.close();
  });

  async function start(env: Record<string, string>) {
    const port = await freePort();
    const proc = spawnKodah(['start'], {
      ...database.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      KODAH_ALLOW_LOCAL_GIT: '1',
      KODAH_JOB_HEARTBEAT_S: '10',
      KODAH_SUPERVISE_INTERVAL_S: '1',
      KODAH_REPO_CHECK_TIMEOUT_MS: '120000',
      ...env,
    });
    running.push(proc);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(url, proc);
    return { proc, api: (key: string | null, method: string, path: string, body?: unknown) => callApi(url, key, method, path, body) };
  }

  async function submitStuckJob(env: Record<string, string>) {
    const { key } = await seedAccount(database.env);
    const first = await start(env);
    // The API's repository check passes; the worker's own ls-remote then hangs.
    git.hangAfterRefs(1);
    const res = await first.api(key, 'POST', '/jobs', { repo_url: git.url('shop'), task: 'fix', description: 'TypeError' });
    expect(res.status).toBe(202);
    const jobId: string = res.body.job_id;
    for (let i = 0; ; i++) {
      const status = (await first.api(key, 'GET', `/jobs/${jobId}/status`)).body;
      if (status.state === 'running' && status.stage === 'resolving ref') break;
      if (i > 200) throw new Error(`job never started: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { key, jobId, first };
  }

  /** Catches a job mid-work, sends `signal` to its process, then lets a fresh process take over. */
  async function interruptMidJob(signal: NodeJS.Signals, env: Record<string, string>) {
    database = await createTestDatabase(kind);
    try {
      const { key, jobId, first } = await submitStuckJob(env);
      first.proc.child.kill(signal);
      const firstExit = await first.proc.exited;
      git.setHang(false);
      const second = await start(env);
      try {
        const status = await waitForJob(second, key, jobId, 45_000);
        const account = (await second.api(key, 'GET', '/account')).body;
        return { status, account, firstExit, firstOutput: first.proc.output() };
      } finally {
        second.proc.child.kill('SIGTERM');
        expect(await second.proc.exited).toBe(0);
      }
    } finally {
      await database.drop();
    }
  }

  it('SIGKILL with no retries left: the job fails as a system error and is refunded once', async () => {
    const { status, account } = await interruptMidJob('SIGKILL', { KODAH_JOB_RETRIES: '0' });
    expect(status).toMatchObject({ status: 'failed', error_kind: 'system', refunded: true });
    expect(status.error).toMatch(/worker stopped or timed out/);
    expect(account.free_credits).toBe(10);
  });

  it('SIGKILL with a retry left: another attempt runs the job to its end, charged once, refunded once', async () => {
    const { status, account } = await interruptMidJob('SIGKILL', { KODAH_JOB_RETRIES: '1' });
    // The retry got past the git server this time and reached the (unconfigured) engine.
    expect(status).toMatchObject({ status: 'failed', error: 'fix engine not configured', refunded: true });
    expect(account.free_credits).toBe(10);
  });

  it('SIGTERM hands a running job back after the grace period; the next process finishes it', async () => {
    const { status, firstExit, firstOutput } = await interruptMidJob('SIGTERM', { KODAH_JOB_RETRIES: '2', KODAH_SHUTDOWN_GRACE_S: '1' });
    expect(firstExit).toBe(0);
    expect(firstOutput).toMatch(/handed back to the queue/);
    expect(status).toMatchObject({ status: 'failed', error: 'fix engine not configured', refunded: true });
  });

  it('an attempt over KODAH_JOB_TIMEOUT_S is stopped; with no retries left the job fails and is refunded', async () => {
    database = await createTestDatabase(kind);
    try {
      const env = { KODAH_JOB_RETRIES: '0', KODAH_JOB_TIMEOUT_S: '10' };
      const { key, jobId, first } = await submitStuckJob(env);
      try {
        const status = await waitForJob(first, key, jobId, 45_000);
        expect(status).toMatchObject({ status: 'failed', error_kind: 'system', refunded: true });
        expect(status.error).toMatch(/stopped or timed out.*interrupted/);
        expect(first.proc.output()).toMatch(/attempt interrupted/);
      } finally {
        git.setHang(false);
        first.proc.child.kill('SIGTERM');
        expect(await first.proc.exited).toBe(0);
      }
    } finally {
      await database.drop();
    }
  });
});
