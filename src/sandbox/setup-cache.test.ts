import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SetupCache } from './setup-cache.js';

let base: string;
beforeEach(() => {
  base = mkdtempSync(path.join(tmpdir(), 'kodah-setup-cache-'));
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

const KiB = 1024;
const tick = () => new Promise((resolve) => setTimeout(resolve, 60));

/** A work tree and HOME as a `setup` leaves them: a venv (with a link), node_modules, a pip cache. */
function prepared(name: string, bytes = 4 * KiB): { worktree: string; home: string } {
  const worktree = path.join(base, name, 'tree');
  const home = path.join(base, name, 'home');
  mkdirSync(path.join(worktree, '.venv', 'bin'), { recursive: true });
  mkdirSync(path.join(worktree, 'node_modules', 'left-pad'), { recursive: true });
  mkdirSync(path.join(home, '.cache', 'pip'), { recursive: true });
  writeFileSync(path.join(worktree, '.venv', 'bin', 'python'), `#!${name}\n`);
  symlinkSync('python', path.join(worktree, '.venv', 'bin', 'python3'));
  writeFileSync(path.join(worktree, 'node_modules', 'left-pad', 'index.js'), Buffer.alloc(bytes, name));
  writeFileSync(path.join(worktree, 'app.py'), 'not part of the environment\n');
  writeFileSync(path.join(home, '.cache', 'pip', 'wheel'), `wheel of ${name}\n`);
  return { worktree, home };
}

function empty(name: string): { worktree: string; home: string } {
  const worktree = path.join(base, name, 'tree');
  const home = path.join(base, name, 'home');
  mkdirSync(worktree, { recursive: true });
  mkdirSync(home, { recursive: true });
  return { worktree, home };
}

/** Restores `key` into a fresh work tree and HOME named `name`. */
function restoreInto(cache: SetupCache, key: string, name: string): Promise<string[] | null> {
  const { worktree, home } = empty(name);
  return cache.restore(key, worktree, home);
}

describe('SetupCache', () => {
  it('restores what setup made in the work tree (only the paths named, links kept) and HOME', async () => {
    const cache = new SetupCache(path.join(base, 'cache'), 64 * 1024 * KiB);
    const from = prepared('a');
    await cache.save('key-a', from.worktree, ['.venv', 'node_modules'], from.home);

    const to = empty('job-2');
    writeFileSync(path.join(to.worktree, 'app.py'), 'the job’s own file\n');
    expect(await cache.restore('key-a', to.worktree, to.home)).toEqual(['.venv', 'node_modules']);
    expect(readFileSync(path.join(to.worktree, '.venv', 'bin', 'python'), 'utf8')).toBe('#!a\n');
    expect(readlinkSync(path.join(to.worktree, '.venv', 'bin', 'python3'))).toBe('python');
    expect(readFileSync(path.join(to.worktree, 'node_modules', 'left-pad', 'index.js'))).toEqual(Buffer.alloc(4 * KiB, 'a'));
    expect(readFileSync(path.join(to.home, '.cache', 'pip', 'wheel'), 'utf8')).toBe('wheel of a\n');
    // Nothing but the environment: the job's own files are untouched.
    expect(readFileSync(path.join(to.worktree, 'app.py'), 'utf8')).toBe('the job’s own file\n');
    expect(readdirSync(to.worktree).sort()).toEqual(['.venv', 'app.py', 'node_modules']);
  });

  it('answers null for a key it does not hold', async () => {
    const cache = new SetupCache(path.join(base, 'cache'), 64 * 1024 * KiB);
    const to = empty('job');
    expect(await cache.restore('missing', to.worktree, to.home)).toBeNull();
    expect(readdirSync(to.worktree)).toEqual([]);
  });

  it('saving a key again replaces its entry', async () => {
    const cache = new SetupCache(path.join(base, 'cache'), 64 * 1024 * KiB);
    const first = prepared('a');
    await cache.save('key', first.worktree, ['.venv'], first.home);
    const second = prepared('b');
    await cache.save('key', second.worktree, ['node_modules'], second.home);
    const to = empty('job');
    expect(await cache.restore('key', to.worktree, to.home)).toEqual(['node_modules']);
    expect(existsSync(path.join(to.worktree, '.venv'))).toBe(false);
    expect(readFileSync(path.join(to.home, '.cache', 'pip', 'wheel'), 'utf8')).toBe('wheel of b\n');
    // No staging folders left behind.
    expect(readdirSync(path.join(base, 'cache'))).toEqual(['key']);
  });

  it('evicts the least recently used entries once the whole passes maxBytes', async () => {
    // Each entry is a 200 KiB file and a few folders: two fit in 500 KiB, three do not.
    const cache = new SetupCache(path.join(base, 'cache'), 500 * KiB);
    for (const name of ['a', 'b']) {
      const from = prepared(name, 200 * KiB);
      await cache.save(name, from.worktree, ['.venv', 'node_modules'], from.home);
      await tick();
    }
    // `a` is used again: `b` is now the least recently used.
    expect(await restoreInto(cache, 'a', 'use-a')).not.toBeNull();
    await tick();
    const c = prepared('c', 200 * KiB);
    await cache.save('c', c.worktree, ['.venv', 'node_modules'], c.home);

    expect(readdirSync(path.join(base, 'cache')).sort()).toEqual(['a', 'c']);
    expect(await restoreInto(cache, 'b', 'job-b')).toBeNull();
    const job = empty('job-a');
    expect(await cache.restore('a', job.worktree, job.home)).toEqual(['.venv', 'node_modules']);
    expect(readFileSync(path.join(job.worktree, '.venv', 'bin', 'python'), 'utf8')).toBe('#!a\n');
  });

  it('keeps no entry larger than maxBytes on its own', async () => {
    const cache = new SetupCache(path.join(base, 'cache'), 100 * KiB);
    const from = prepared('big', 200 * KiB);
    await cache.save('big', from.worktree, ['node_modules'], from.home);
    expect(await restoreInto(cache, 'big', 'job')).toBeNull();
    expect(readdirSync(path.join(base, 'cache'))).toEqual([]);
  });

  it('does nothing with maxBytes 0', async () => {
    const dir = path.join(base, 'cache');
    const cache = new SetupCache(dir, 0);
    const from = prepared('a');
    await cache.save('key', from.worktree, ['.venv'], from.home);
    expect(existsSync(dir)).toBe(false);
    expect(await restoreInto(cache, 'key', 'job')).toBeNull();
  });
});
