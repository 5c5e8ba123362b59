import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addWorktree, openMirror, type CheckoutOptions } from '../src/git/checkout.js';
import { KodahError } from '../src/lib/errors.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';

const MB = 1024 * 1024;

/** Bytes of every file under a folder. */
function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(path.join(e.parentPath, e.name)).size, 0);
}

describe("a commit's size is checked before it is checked out", () => {
  let server: GitHttpServer;
  let root: string;
  let options: CheckoutOptions;
  beforeAll(async () => {
    server = await startGitHttpServer();
    root = mkdtempSync(path.join(tmpdir(), 'kodah-checkout-size-'));
    options = {
      policy: { allowedHosts: [], allowLocal: true },
      mirrorDir: path.join(root, 'mirrors'),
      worktreeDir: path.join(root, 'worktrees'),
      token: null,
      timeoutMs: 60_000,
      maxRepoBytes: 5 * MB,
      maxFiles: 100,
    };
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a small mirror whose files add up to more than the limit, writing no work tree', async () => {
    // 20 MB of zeros packs into a few tens of KB: the mirror passes its own size limit.
    const commit = server.createRepo('bomb', { 'zeros.bin': '\0'.repeat(20 * MB), 'README.md': '# bomb\n' });
    const refused = openMirror({ url: server.url('bomb') }, commit, options);
    await expect(refused).rejects.toThrow(KodahError);
    await expect(refused).rejects.toMatchObject({
      code: 'invalid_input',
      kind: 'input',
      message: `The repository's files at ${commit.slice(0, 12)} add up to 20 MB, more than the limit of 5 MB`,
    });
    const [mirror] = readdirSync(options.mirrorDir);
    expect(folderBytes(path.join(options.mirrorDir, mirror!))).toBeLessThan(1 * MB);
    expect(existsSync(options.worktreeDir)).toBe(false);
    // A local repository (the CLI's --repo PATH) gets the same check.
    await expect(openMirror({ gitDir: server.path('bomb') }, commit, options)).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('checks out a commit within the limit', async () => {
    const commit = server.createRepo('normal', { 'app.py': 'print("hello")\n', 'big.txt': 'x'.repeat(4 * MB) });
    const gitDir = await openMirror({ url: server.url('normal') }, commit, options);
    const tree = await addWorktree(gitDir, commit, options);
    expect(readFileSync(path.join(tree.dir, 'app.py'), 'utf8')).toBe('print("hello")\n');
    expect(statSync(path.join(tree.dir, 'big.txt')).size).toBe(4 * MB);
    await tree.remove();
    expect(existsSync(tree.dir)).toBe(false);
  });

  it('still counts files against maxFiles', async () => {
    const files = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}.txt`, `${i}\n`]));
    const commit = server.createRepo('many', files);
    await expect(openMirror({ url: server.url('many') }, commit, options)).rejects.toMatchObject({
      code: 'invalid_input',
      message: `The repository has 101 files at ${commit.slice(0, 12)}, more than the limit of 100`,
    });
  });
});
