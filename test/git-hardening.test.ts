import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addWorktree, openMirror } from '../src/git/checkout.js';
import { LOCAL_GIT_ENV } from '../src/git/git-env.js';
import { listTree, localGit, readBlobs, resolveCommit } from '../src/git/git-objects.js';
import { ensureMirror } from '../src/git/mirror-cache.js';
import { runGit } from '../src/git/run-git.js';
import { stageDiff } from '../src/fix/validate-worktree.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';

// A mirror (and later a work tree's git dir) whose config names a program for everything git may
// run from config. Each program only appends its name to a marker file, so the marker file says
// which ran. The same fixture under plain git writes the marker (the controls), so a hardening
// that stopped working would fail these tests.

const root = mkdtempSync(path.join(tmpdir(), 'kodah-git-hardening-'));
const bin = path.join(root, 'bin');
const marker = path.join(root, 'marker');
const PLAIN_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
const git = (...args: string[]) =>
  execFileSync('git', args, { env: PLAIN_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** A program that notes its name in the marker file; a filter also passes its input through. */
function program(name: string, filter = false): string {
  const file = path.join(bin, name);
  writeFileSync(file, `#!/bin/sh\necho ${name} >> '${marker}'\n${filter ? 'cat\n' : 'exit 0\n'}`);
  chmodSync(file, 0o755);
  return file;
}

const ran = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : []);

const HOOKS = ['pre-commit', 'post-checkout', 'post-index-change', 'reference-transaction', 'pre-auto-gc', 'post-commit'];

/** Writes, into the config file of `gitDir`, a program for every config-driven program git has. */
function arm(gitDir: string): void {
  const hooks = path.join(root, 'hooks');
  mkdirSync(hooks, { recursive: true });
  for (const hook of HOOKS) cpSync(program(`hook-${hook}`), path.join(hooks, hook));
  const set = (key: string, value: string) => git('config', '--file', path.join(gitDir, 'config'), key, value);
  set('core.hooksPath', hooks);
  set('core.fsmonitor', program('fsmonitor'));
  set('core.pager', program('core-pager'));
  set('pager.diff', program('pager-diff'));
  set('core.editor', program('editor'));
  set('sequence.editor', program('sequence-editor'));
  set('diff.external', program('diff-external'));
  set('filter.x.clean', program('filter-x-clean', true));
  set('filter.x.smudge', program('filter-x-smudge', true));
  set('filter.x.required', 'true');
  set('credential.helper', program('credential-helper'));
  set('core.askPass', program('askpass'));
  set('gpg.program', program('gpg'));
  // A driver defined in an included file: found only by a listing that follows includes.
  const included = path.join(root, 'included.cfg');
  git('config', '--file', included, 'filter.y.process', program('filter-y-process'));
  set('include.path', included);
}

let commit = '';
let source = '';

beforeAll(() => {
  mkdirSync(bin);
  source = path.join(root, 'source');
  git('init', '-q', '-b', 'main', source);
  writeFileSync(path.join(source, '.gitattributes'), '* filter=x\n*.dat filter=y\n');
  writeFileSync(path.join(source, 'app.py'), 'print("hello")\n');
  writeFileSync(path.join(source, 'data.dat'), 'data\n');
  git('-C', source, 'add', '-A');
  git('-C', source, '-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'initial');
  commit = git('-C', source, 'rev-parse', 'HEAD');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh armed mirror of the source repository, cloned with plain git. */
function armedMirror(name: string): string {
  const mirror = path.join(root, `${name}.git`);
  git('clone', '-q', '--bare', source, mirror);
  arm(mirror);
  rmSync(marker, { force: true });
  return mirror;
}

const options = (name: string) => ({
  policy: { allowedHosts: [], allowLocal: true },
  mirrorDir: path.join(root, `${name}-mirrors`),
  worktreeDir: path.join(root, `${name}-worktrees`),
  token: null,
  timeoutMs: 60_000,
  maxRepoBytes: 100 * 1024 * 1024,
  maxFiles: 1000,
});

describe('git on a repository whose config names programs', () => {
  it('plain git runs them (the fixture bites)', async () => {
    const mirror = armedMirror('control');
    // The process filter does not speak the protocol: plain git runs it, then gives up the checkout.
    spawnSync('git', ['--git-dir', mirror, 'worktree', 'add', '-q', '--detach', path.join(root, 'control-tree'), commit], {
      env: PLAIN_ENV,
    });
    expect(ran()).toEqual(expect.arrayContaining(['hook-reference-transaction', 'fsmonitor', 'filter-x-smudge', 'filter-y-process']));
    rmSync(marker, { force: true });
    const tree = await addWorktree(mirror, commit, options('control'));
    writeFileSync(path.join(tree.dir, 'app.py'), 'print("changed")\n');
    rmSync(path.join(tree.dir, 'data.dat')); // its process filter would stop the add
    spawnSync('git', ['-C', tree.dir, 'add', '-A'], { env: PLAIN_ENV });
    spawnSync('git', ['-C', tree.dir, 'diff', '--cached'], { env: PLAIN_ENV });
    expect(ran()).toEqual(expect.arrayContaining(['fsmonitor', 'filter-x-clean', 'hook-post-index-change', 'diff-external']));
    await tree.remove();
  });

  it("runs none of them in any of Kodah's operations", async () => {
    const mirror = armedMirror('kodah');
    const opts = options('kodah');
    expect(await openMirror({ gitDir: mirror }, commit, opts)).toBe(mirror);
    const tree = await addWorktree(mirror, commit, opts);
    const gitDir = path.join(tree.dir, '.git');
    const wt = ['--work-tree', tree.dir];
    // No smudge filter ran: the file is as committed.
    expect(readFileSync(path.join(tree.dir, 'app.py'), 'utf8')).toBe('print("hello")\n');

    // The validate stage: edits, staged and diffed.
    writeFileSync(path.join(tree.dir, 'app.py'), 'print("changed")\n');
    writeFileSync(path.join(tree.dir, 'new.dat'), 'new\n');
    await localGit(gitDir, [...wt, 'add', '-A']);
    const diff = await localGit(gitDir, [...wt, 'diff', '--cached', '--binary', '--no-color', '--no-ext-diff']);
    expect(diff).toContain('+print("changed")');
    expect(diff).toContain('+++ b/new.dat');
    // Without --no-ext-diff the external diff is "" and fails rather than running anything.
    await expect(localGit(gitDir, [...wt, 'diff', '--cached'])).rejects.toThrow(/external diff died|cannot run/);

    // Back to the commit between attempts.
    await localGit(gitDir, [...wt, 'reset', '--hard', '--quiet']);
    await localGit(gitDir, [...wt, 'clean', '-fdxq']);
    expect(readdirSync(tree.dir).sort()).toEqual(['.git', '.gitattributes', 'app.py', 'data.dat']);

    // Reading objects: the localize and code-index paths.
    const files = await listTree(mirror, commit);
    expect(files.map((f) => f.path).sort()).toEqual(['.gitattributes', 'app.py', 'data.dat']);
    const app = files.find((f) => f.path === 'app.py')!;
    expect((await readBlobs(mirror, [app.sha])).get(app.sha)?.toString()).toBe('print("hello")\n');
    expect(await localGit(mirror, ['cat-file', '-p', app.sha])).toBe('print("hello")\n');
    expect(await localGit(mirror, ['show', `${commit}:app.py`])).toBe('print("hello")\n');
    expect(await localGit(mirror, ['ls-tree', '-r', '--name-only', commit])).toContain('app.py');
    expect(await localGit(mirror, ['log', '--name-only', '--format=%H', commit, '--'])).toContain(commit);
    expect(await resolveCommit(mirror, 'main')).toBe(commit);

    await tree.remove();
    expect(existsSync(tree.dir)).toBe(false);
    expect(ran()).toEqual([]);
  });

  it('runs none of them when the work tree points its .git at a git dir of its own (what sandboxed code can write)', async () => {
    const mirror = path.join(root, 'tamper.git');
    git('clone', '-q', '--bare', source, mirror);
    const tree = await addWorktree(mirror, commit, options('tamper'));
    // The work tree is the sandbox's: its code may replace the .git file with a repository of its choosing.
    const own = path.join(tree.dir, '.git');
    rmSync(own);
    cpSync(mirror, own, { recursive: true });
    git('--git-dir', own, 'update-ref', '--no-deref', 'HEAD', commit);
    arm(own);
    git('config', '--file', path.join(own, 'config'), 'diff.x.textconv', program('textconv'));
    writeFileSync(path.join(tree.dir, '.gitattributes'), '* filter=x diff=x\n*.dat filter=y\n');
    writeFileSync(path.join(tree.dir, 'app.py'), 'print("changed")\n');
    rmSync(marker, { force: true });

    const gitDir = path.join(tree.dir, '.git');
    const wt = ['--work-tree', tree.dir];
    await localGit(gitDir, [...wt, 'add', '-A']);
    // A textconv driver cannot be emptied into "none": the diff fails closed, and --no-textconv avoids it.
    await expect(localGit(gitDir, [...wt, 'diff', '--cached', '--binary', '--no-color', '--no-ext-diff'])).rejects.toThrow(/cannot run/);
    const diff = await localGit(gitDir, [...wt, 'diff', '--cached', '--binary', '--no-color', '--no-ext-diff', '--no-textconv']);
    expect(diff).toContain('+print("changed")');
    // A fix's diff is staged by several commands after one read of the config: none runs either.
    const staged = await stageDiff(tree, [], 'all');
    expect(staged).toContain('+print("changed")');
    expect(staged).toContain('.gitattributes');
    await localGit(gitDir, [...wt, 'reset', '--hard', '--quiet']);
    await localGit(gitDir, [...wt, 'clean', '-fdxq']);
    expect(ran()).toEqual([]);
    await tree.remove();
  });

  it.runIf(process.getuid?.() === 0)('works in a work tree owned by another uid (the sandbox user) while running as root', async () => {
    const mirror = path.join(root, 'owned.git');
    git('clone', '-q', '--bare', source, mirror);
    const tree = await addWorktree(mirror, commit, options('owned'));
    execFileSync('chown', ['-R', '200123:200123', tree.dir]);
    writeFileSync(path.join(tree.dir, 'app.py'), 'print("changed")\n');
    const gitDir = path.join(tree.dir, '.git');
    await localGit(gitDir, ['--work-tree', tree.dir, 'add', '-A']);
    expect(await localGit(gitDir, ['--work-tree', tree.dir, 'diff', '--cached', '--no-ext-diff'])).toContain('+print("changed")');
    await localGit(gitDir, ['--work-tree', tree.dir, 'reset', '--hard', '--quiet']);
    // git checks ownership when it finds the repository itself (no --git-dir): safe.directory=*,
    // from GIT_CONFIG_*, lets it through; without it git refuses the work tree.
    const found = await runGit(['status', '--porcelain'], { cwd: tree.dir, env: LOCAL_GIT_ENV, timeoutMs: 30_000 });
    expect(found.stderr).toBe('');
    expect(found.code).toBe(0);
    const withoutSafe = { ...LOCAL_GIT_ENV };
    const index = Object.entries(withoutSafe).find(([key, value]) => key.startsWith('GIT_CONFIG_KEY_') && value === 'safe.directory')![0];
    withoutSafe[index] = 'kodah.unused';
    const refused = await runGit(['status', '--porcelain'], { cwd: tree.dir, env: withoutSafe, timeoutMs: 30_000 });
    expect(refused.stderr).toMatch(/dubious ownership/);
    await tree.remove();
  });
});

describe('fetching into a mirror whose config names programs', () => {
  let server: GitHttpServer;
  beforeAll(async () => {
    server = await startGitHttpServer();
  });
  afterAll(() => server.close());

  it('runs none of them, with a token and when the server asks for credentials', async () => {
    server.createRepo('armed', { 'app.py': 'print(1)\n' }, { private: true });
    const url = server.url('armed');
    const mirrorOptions = { policy: { allowedHosts: [], allowLocal: true }, cacheDir: path.join(root, 'fetch-mirrors'), timeoutMs: 60_000 };
    const mirror = await ensureMirror(url, { ...mirrorOptions, token: server.token });
    arm(mirror);
    // Alternates make fetch run core.alternateRefsCommand.
    git('config', '--file', path.join(mirror, 'config'), 'core.alternateRefsCommand', program('alternate-refs'));
    writeFileSync(path.join(mirror, 'objects', 'info', 'alternates'), `${path.join(server.path('armed'), 'objects')}\n`);
    rmSync(marker, { force: true });

    const next = server.commit('armed', { 'app.py': 'print(2)\n' });
    await ensureMirror(url, { ...mirrorOptions, token: server.token, want: next });
    expect(git('--git-dir', mirror, 'rev-parse', 'main')).toBe(next);
    // No token: the server answers 401 and git would ask helpers and askpass for a password.
    await expect(ensureMirror(url, { ...mirrorOptions, token: null })).rejects.toMatchObject({ code: 'repository_unavailable' });
    expect(ran()).toEqual([]);

    // Control: plain git, same mirror, same server.
    await runGit(['--git-dir', mirror, 'fetch', '--quiet', url, '+refs/heads/*:refs/heads/*'], {
      env: { ...PLAIN_ENV, GIT_TERMINAL_PROMPT: '0' },
      timeoutMs: 60_000,
    });
    expect(ran()).toEqual(expect.arrayContaining(['credential-helper', 'askpass']));
  });
});
