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
});
