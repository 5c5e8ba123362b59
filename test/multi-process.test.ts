import { afterAll, describe, expect, it } from 'vitest';
import { startGitHttpServer } from './helpers/git-http-server.js';
import { freePort, type KodahProcess, spawnKodah, waitForHealthy } from './helpers/kodah-process.js';
import { callApi, seedAccount, waitForJob } from './helpers/test-app.js';
import { createTestDatabase } from './helpers/test-database.js';

/** Separate API and worker processes share one PostgreSQL queue; PGlite is one process by design. */
describe.runIf(process.env.TEST_DATABASE_URL)('API and workers in separate processes on PostgreSQL', { timeout: 120_000 }, () => {
  const procs: KodahProcess[] = [];
  afterAll(() => {
    for (const p of procs) p.child.kill('SIGKILL');
  });

  it('serve --no-workers accepts, two `kodah worker` processes run every job exactly once', async () => {
    const git = await startGitHttpServer();
    git.createRepo('shop', { 'a.py': 'x = 1\n' });
    const database = await createTestDatabase('postgres');
    try {
      const env = { ...database.env, KODAH_ALLOW_LOCAL_GIT: '1', LOG_LEVEL: 'info' };
      const { key } = await seedAccount(database.env, 1000);
      const port = await freePort();
      // The API process has a model, so it accepts jobs; the workers have none, so each job fails there
      // as a system error and is refunded: the API judges by its own configuration.
      const api = spawnKodah(['serve', '--no-workers'], {
        ...env,
        OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
        PORT: String(port),
        HOST: '127.0.0.1',
        KODAH_MAX_RUNNING_JOBS_PER_ACCOUNT: '10',
      });
      const workers = [spawnKodah(['worker'], env), spawnKodah(['worker'], env)];
      procs.push(api, ...workers);
      const base = `http://127.0.0.1:${port}`;
      await waitForHealthy(base, api);
      const client = { api: (k: string | null, m: string, p: string, b?: unknown) => callApi(base, k, m, p, b) };

      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await client.api(key, 'POST', '/jobs', { repo_url: git.url('shop'), task: 'fix', description: `bug ${i}` });
        expect(res.status).toBe(202);
        ids.push(res.body.job_id);
      }
      for (const jobId of ids) {
        expect(await waitForJob(client, key, jobId, 30_000)).toMatchObject({
          status: 'failed',
          error: 'fix engine not configured',
          refunded: true,
        });
      }
      expect(api.output()).not.toMatch(/job started/);
      const started = workers.flatMap((w) =>
        w
          .output()
          .split('\n')
          .filter((l) => l.includes('"job started"')),
      );
      expect(started.map((l) => JSON.parse(l).jobId).sort()).toEqual([...ids].sort());
      expect((await client.api(key, 'GET', '/account')).body).toMatchObject({ free_credits: 10, paid_balance_cents: 1000 });

      for (const p of [api, ...workers]) p.child.kill('SIGTERM');
      expect(await Promise.all([api, ...workers].map((p) => p.exited))).toEqual([0, 0, 0]);
    } finally {
      await database.drop();
      await git.close();
    }
  });
});
