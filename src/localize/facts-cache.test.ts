import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FactsCache } from './facts-cache.js';

const gitDir = mkdtempSync(path.join(tmpdir(), 'kodah-facts-'));
execFileSync('git', ['init', '-q', '--bare', gitDir]);
const blob = (text: string) => ({
  path: `${text}.py`,
  sha: execFileSync('git', ['--git-dir', gitDir, 'hash-object', '-w', '--stdin'], { input: `def ${text}():\n    pass\n` })
    .toString()
    .trim(),
  size: 0,
});
afterAll(() => rmSync(gitDir, { recursive: true, force: true }));

describe('FactsCache', () => {
  it('answers for every file even when a call empties the cache half-way', async () => {
    const cache = new FactsCache(2);
    const [a, b, c] = [blob('alpha'), blob('beta'), blob('gamma')];
    expect(await cache.factsFor(gitDir, [a, b])).toHaveLength(2);
    // a is cached, c is not, and reading c passes the limit: the cache is emptied before c is stored.
    const facts = await cache.factsFor(gitDir, [a, c, a]);
    expect(facts.every((f) => f !== undefined)).toBe(true);
    expect(facts[0]).toBe(facts[2]);
  });

  it('keeps the listings and histories used last, not those stored first', async () => {
    const tree = execFileSync('git', ['--git-dir', gitDir, 'mktree'], { input: '' }).toString().trim();
    const commits: string[] = [];
    for (let i = 0; i < 10; i++)
      commits.push(
        execFileSync('git', ['--git-dir', gitDir, 'commit-tree', tree, ...(i ? ['-p', commits[i - 1]!] : []), '-m', `commit ${i}`], {
          env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' },
        })
          .toString()
          .trim(),
      );
    const cache = new FactsCache();
    // An agent's commit, searched again after each of seven other commits (eight listings are kept).
    const agents = cache.treeOf(gitDir, commits[0]!);
    for (const other of commits.slice(1, 9)) {
      await cache.treeOf(gitDir, other);
      expect(cache.treeOf(gitDir, commits[0]!)).toBe(agents);
    }
    // Two histories are kept: the agent's survives two other commits read in turn.
    const history = cache.historyOf(gitDir, commits[0]!);
    await cache.historyOf(gitDir, commits[1]!);
    expect(cache.historyOf(gitDir, commits[0]!)).toBe(history);
    const other = cache.historyOf(gitDir, commits[2]!);
    await other;
    expect(cache.historyOf(gitDir, commits[0]!)).toBe(history);
    // Still two at most: the one used least recently is dropped, and read again when asked for.
    await cache.historyOf(gitDir, commits[3]!);
    expect(cache.historyOf(gitDir, commits[2]!)).not.toBe(other);
    expect(cache.historyOf(gitDir, commits[0]!)).not.toBe(history);
  });
});
