import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { databaseKinds } from './helpers/test-database.js';

const run = promisify(execFile);

/**
 * The polling script of the contract (spec: "Polling Pattern"), byte for byte but for BASE and the
 * key, run with bash, curl and jq against the running server and a repository on a local git server.
 */
describe.each(databaseKinds)('the contract polling script on %s', { timeout: 90_000 }, (kind) => {
  let git: GitHttpServer;
  let app: TestApp;

  beforeAll(async () => {
    git = await startGitHttpServer();
    git.createRepo('shop', { 'src/processor.py': 'def calculate_total(items):\n    total = 0\n' });
    app = await startTestApp(kind);
  });
  afterAll(async () => {
    await app?.stop();
    await git?.close();
  });

  it('submits, polls to the end and reports the failure of the unconfigured engine', async () => {
    const { key } = await app.account();
    const dir = mkdtempSync(path.join(tmpdir(), 'kodah-fixsh-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const script = readFileSync(path.join(import.meta.dirname, 'fixtures/fix.sh'), 'utf8')
      .replace('API_KEY="kdh_your_key_here"', `API_KEY="${key}"`)
      .replace('BASE="https://api.kodah.io"', `BASE="${app.url}"`);
    writeFileSync(path.join(dir, 'fix.sh'), script, { mode: 0o755 });

    const { stdout } = await run('bash', ['fix.sh', git.url('shop'), 'TypeError in calculate_total: unsupported operand type'], {
      cwd: dir,
      timeout: 60_000,
    });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Job submitted: [0-9a-f-]{36}$/);
    expect(lines.slice(1, -2).every((l) => l === 'Status: running')).toBe(true);
    expect(lines.slice(-2)).toEqual(['Status: failed', 'Job failed.']);

    const jobId = lines[0]!.slice('Job submitted: '.length);
    const status = (await app.api(key, 'GET', `/jobs/${jobId}/status`)).body;
    expect(status).toMatchObject({ status: 'failed', error: 'fix engine not configured', refunded: true });
    expect((await app.api(key, 'GET', '/account')).body.free_credits).toBe(10);
  });
});
