import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeHost, scratchName } from '../lib/scratch-name.js';
import { pruneLeftovers } from './prune-leftovers.js';

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('pruneLeftovers', () => {
  let base: string;
  let sleeper: ReturnType<typeof spawn>;

  beforeAll(() => {
    base = mkdtempSync(path.join(tmpdir(), 'kodah-prune-'));
    sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  });
  afterAll(() => {
    sleeper.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  });

  it('removes what dead processes of this host left, and nothing else', async () => {
    const host = safeHost();
    const dead = await deadPid();
    expect(() => process.kill(dead, 0)).toThrow();
    const sandboxDir = path.join(base, 'sandbox');
    const worktreeDir = path.join(base, 'worktrees');
    const names = {
      deadScratch: `${host}~${dead}~0a1b2c`,
      deadWorktree: `${host}~${dead}~job-7`,
      live: `${host}~${sleeper.pid}~3d4e5f`,
      own: scratchName('6a7b8c'),
      otherHost: `not-${host}~${dead}~9d0e1f`,
      unrelated: 'probe-abc123',
      notAPid: `${host}~nope~x`,
      file: `${host}~${dead}~file`,
    };
    expect(names.own).toBe(`${host}~${process.pid}~6a7b8c`);
    for (const [key, name] of Object.entries(names)) {
      const dir = key === 'deadWorktree' ? worktreeDir : sandboxDir;
      mkdirSync(dir, { recursive: true });
      if (key === 'file') writeFileSync(path.join(dir, name), 'left');
      else {
        mkdirSync(path.join(dir, name, 'home', '.cache'), { recursive: true });
        writeFileSync(path.join(dir, name, 'home', '.cache', 'x'), 'left');
      }
    }

    const removed = await pruneLeftovers([sandboxDir, worktreeDir, path.join(base, 'missing')]);
    expect(removed.sort()).toEqual(
      [path.join(sandboxDir, names.deadScratch), path.join(sandboxDir, names.file), path.join(worktreeDir, names.deadWorktree)].sort(),
    );
    expect(readdirSync(sandboxDir).sort()).toEqual([names.live, names.own, names.otherHost, names.unrelated, names.notAPid].sort());
    expect(readdirSync(worktreeDir)).toEqual([]);
    expect(existsSync(path.join(sandboxDir, names.live, 'home', '.cache', 'x'))).toBe(true);
  });
});
