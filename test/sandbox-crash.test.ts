import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './helpers/fake-openai.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { freePort, spawnKodah, waitForHealthy, type KodahProcess } from './helpers/kodah-process.js';
import { callApi, seedAccount } from './helpers/test-app.js';

/**
 * A worker killed while a repository's tests run in its sandbox: nothing of the sandbox
 * survives it (bwrap dies with its parent), and the next worker on the host removes the work
 * tree and sandbox folder the dead one left, and nothing a live process still uses.
 */
const MARKER = '765432';
const block = (file: string, search: string, replace: string) =>
  `${file}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;

function processesWith(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(marker)) found.push(`${pid} ${cmdline}`);
    } catch {
      // gone while we looked
    }
  }
  return found;
}

describe('a worker killed while its sandbox runs', () => {
  let git: GitHttpServer;
  let model: FakeOpenAI;
  let dataDir: string;
  const running: KodahProcess[] = [];

  beforeAll(async () => {
    git = await startGitHttpServer();
    model = await startFakeOpenAI();
    dataDir = mkdtempSync(path.join(tmpdir(), 'kodah-crash-data-'));
    git.createRepo('slow', {
      'app.py': 'LIMIT = 1\n',
      '.github/kodah.yml': `test_command: setsid sleep ${MARKER} & sleep ${MARKER}\n`,
    });
  });
  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    await model?.close();
    await git?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start() {
    const port = await freePort();
    const proc = spawnKodah(['start'], {
      KODAH_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      KODAH_ALLOW_LOCAL_GIT: '1',
      OPENAI_BASE_URL: model.baseUrl,
      KODAH_FIX_MODE: 'single-shot',
      KODAH_MODEL: 'fake-model',
      KODAH_MODEL_MAX_RETRIES: '0',
      KODAH_JOB_RETRIES: '0',
    });
    running.push(proc);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(url, proc, 60_000);
    return { proc, url };
  }

  it('leaves no process behind, and the next worker removes its folders but not a live one', async () => {
    const { key } = await seedAccount({ KODAH_DATA_DIR: dataDir }, 1000);
    const first = await start();
    model.reply(`Raise it.\n\n${block('app.py', 'LIMIT = 1', 'LIMIT = 2')}`);
    const submitted = await callApi(first.url, key, 'POST', '/jobs', { repo_url: git.url('slow'), task: 'fix', description: 'LIMIT' });
    expect(submitted.status).toBe(202);
    for (let i = 0; processesWith(`sleep ${MARKER}`).length < 2; i++) {
      if (i > 600) throw new Error(`the tests never started:\n${first.proc.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const left = { worktrees: readdirSync(path.join(dataDir, 'worktrees')), sandbox: readdirSync(path.join(dataDir, 'sandbox')) };
    expect(left.worktrees).toHaveLength(1);
    expect(left.sandbox).toHaveLength(1);

    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    // The sandbox died with its parent, the setsid sleeper too.
    for (let i = 0; processesWith(`sleep ${MARKER}`).length > 0; i++) {
      if (i > 50) throw new Error(`sandbox processes outlived the worker: ${processesWith(`sleep ${MARKER}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // A folder of a live process of this host (ours) must survive the next start.
    const live = path.join(dataDir, 'worktrees', `${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}~${process.pid}~live`);
    mkdirSync(live);
    const second = await start();
    try {
      expect(existsSync(path.join(dataDir, 'worktrees', left.worktrees[0]!))).toBe(false);
      expect(existsSync(path.join(dataDir, 'sandbox', left.sandbox[0]!))).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(second.proc.output()).toMatch(/removed work trees and sandbox folders a stopped worker left/);
    } finally {
      second.proc.child.kill('SIGTERM');
      await second.proc.exited;
    }
  }, 180_000);
});
