import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchRepo } from '../../test/helpers/scratch-repo.js';
import { FactsCache, FAILED_HISTORY_MS } from './facts-cache.js';
import { historySignals, readCommitHistory, similarCommits } from './history-signals.js';
import { rankFiles } from './rank-files.js';
import { readReport } from './report-signals.js';

const repo = scratchRepo('kodah-history-');
const { commit } = repo;
commit('Add the parser and the printer', { 'pkg/parser.py': 'x = 1\n', 'pkg/printer.py': 'y = 1\n', 'pkg/units.py': 'z = 1\n' });
commit('Fix nitpick warnings for Literal annotation values', { 'pkg/printer.py': 'y = 2\n' });
const before = commit('Speed up unit conversion', { 'pkg/units.py': 'z = 2\n' });
const later = commit('Literal annotation nitpick: the real fix', { 'pkg/parser.py': 'x = 2\n' });
afterAll(() => repo.remove());

const tree = ['pkg/parser.py', 'pkg/printer.py', 'pkg/units.py'].map((p) => ({ path: p, sha: '', size: 0 }));

describe('the history signal', () => {
  it('points at the files earlier commits about the same thing changed, reading only the history before the commit', async () => {
    const history = await readCommitHistory(repo.gitDir, before);
    expect(history.files).toHaveLength(3);
    const reasons = tree.map(() => [] as string[]);
    const signal = historySignals(
      { tree, facts: [], reasons },
      similarCommits(readReport('Nitpick flags Literal annotation values'), history),
    );
    // The printer was fixed for this before; the parser's fix came after the report's commit.
    expect(signal[1]).toBe(1);
    expect(signal[0]).toBeLessThan(0.5);
    expect(signal[2]).toBe(0);
    expect(reasons[1]).toContain('changed by earlier commits about the same thing');

    const afterwards = await readCommitHistory(repo.gitDir, later);
    expect(afterwards.files).toHaveLength(4);
  });

  it('gives nothing when no commit message shares a word with the report', async () => {
    const history = await readCommitHistory(repo.gitDir, before);
    const signal = historySignals({ tree, facts: [], reasons: tree.map(() => []) }, similarCommits(readReport('zzz qqq'), history));
    expect(signal).toEqual([0, 0, 0]);
  });
});

it('a history git cannot read ranks the files without it instead of failing', async () => {
  const broken = scratchRepo('kodah-history-broken-');
  try {
    const first = broken.commit('Add the printer', { 'pkg/printer.py': 'def show():\n    return 1\n', 'pkg/other.py': 'x = 1\n' });
    const head = broken.commit('Tidy the printer', { 'pkg/printer.py': 'def show():\n    return 2\n' });
    // The first commit's object is lost (a mirror fetched shallow, a damaged disk): `git log` fails.
    rmSync(path.join(broken.gitDir, 'objects', first.slice(0, 2), first.slice(2)));
    await expect(readCommitHistory(broken.gitDir, head)).rejects.toThrow();
    let clock = 0;
    const cache = new FactsCache(undefined, () => clock);
    const { files, similar } = await rankFiles(broken.gitDir, head, readReport('`show` prints the wrong thing'), cache);
    expect(files[0]!.path).toBe('pkg/printer.py');
    expect(similar).toEqual([]);
    // The failure answers the next searches without running git again, for a while only.
    const failed = cache.historyOf(broken.gitDir, head);
    await expect(failed).rejects.toThrow();
    clock = FAILED_HISTORY_MS - 1;
    expect(cache.historyOf(broken.gitDir, head)).toBe(failed);
    clock = FAILED_HISTORY_MS;
    const again = cache.historyOf(broken.gitDir, head);
    expect(again).not.toBe(failed);
    await expect(again).rejects.toThrow();
  } finally {
    broken.remove();
  }
});
