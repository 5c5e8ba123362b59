import { afterAll, describe, expect, it } from 'vitest';
import { scratchRepo } from '../../test/helpers/scratch-repo.js';
import { definedName, pastFunctions } from './past-functions.js';

const repo = scratchRepo('kodah-past-');
const { commit } = repo;

const printer = (mul: string, add: string) =>
  [
    'class Printer:',
    '    def _print_Mul(self, e):',
    '        x = 1',
    `        return ${mul}`,
    '',
    '    def _print_Add(self, e):',
    '        y = 2',
    `        return ${add}`,
    '',
  ].join('\n');

commit('Add the printer', { 'pkg/printer.py': printer('"*"', '"+"'), README: 'a\n' });
// Changes the body of _print_Mul only: the hunk header names it, not the class (git's default would).
const mulFix = commit('Fix the printing of products', { 'pkg/printer.py': printer('"·"', '"+"') });
// Adds a method (its own def line is in the hunk) and a line reading "++ b" to a text file, which
// must not be taken for a file header.
const added = commit('Add the printing of powers', {
  'pkg/printer.py': printer('"·"', '"+"') + '    def _print_Pow(self, e):\n        return "**"\n',
  README: 'a\n++ b\n',
});
afterAll(() => repo.remove());

describe('the functions past commits changed', () => {
  it('names the enclosing method of each hunk and the definitions a hunk adds, weighted by similarity', async () => {
    const past = await pastFunctions(repo.gitDir, [
      { sha: mulFix, score: 2, files: ['pkg/printer.py'] },
      { sha: added, score: 1, files: ['pkg/printer.py', 'README'] },
    ]);
    const printerVotes = past.get('pkg/printer.py')!;
    expect(printerVotes.get('_print_Mul')).toBe(1);
    expect(printerVotes.get('_print_Pow')).toBeGreaterThan(0);
    expect(printerVotes.get('_print_Pow')).toBeLessThan(1);
    expect(printerVotes.has('Printer')).toBe(false);
    expect([...past.keys()].some((p) => p !== 'pkg/printer.py' && p !== 'README')).toBe(false);
  });

  it('reads nothing for no similar commit, and fails loudly for a commit the repository lacks', async () => {
    expect((await pastFunctions(repo.gitDir, [])).size).toBe(0);
    await expect(pastFunctions(repo.gitDir, [{ sha: 'f'.repeat(40), score: 1, files: [] }])).rejects.toThrow(/git/);
  });

  it('reads the name a hunk header gives in several languages', () => {
    expect(definedName(' def _print_Mul(self, expr):')).toBe('_print_Mul');
    expect(definedName(' class TableDataDiff(_BaseDiff):')).toBe('TableDataDiff');
    expect(definedName(' func (r *Reader) Next() error {')).toBe('Next');
    expect(definedName(' export function parseDiff(text) {')).toBe('parseDiff');
    expect(definedName(' static int parse_args(int argc, char **argv)')).toBe('parse_args');
    expect(definedName('')).toBeUndefined();
  });
});
