import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { GlobError, globMatcher } from './glob.js';

const CASES: Array<[string, string, boolean]> = [
  ['shop/**', 'shop/processor.py', true],
  ['shop/**', 'shop/a/b/c.py', true],
  ['shop/**', 'shopping/a.py', false],
  ['**/*.py', 'a.py', true],
  ['**/*.py', 'src/deep/er/a.py', true],
  ['**/*.py', 'src/a.pyc', false],
  ['src/**/test_*.py', 'src/test_a.py', true],
  ['src/**/test_*.py', 'src/x/y/test_a.py', true],
  ['src/**/test_*.py', 'src/x/y/a_test.py', false],
  ['src/*.py', 'src/a.py', true],
  ['src/*.py', 'src/x/a.py', false],
  ['*', '.github', true],
  ['src/?.py', 'src/a.py', true],
  ['src/?.py', 'src/ab.py', false],
  ['src/[abc].py', 'src/b.py', true],
  ['src/[abc].py', 'src/d.py', false],
  ['src/[^abc].py', 'src/d.py', true],
  ['src/[^abc].py', 'src/a.py', false],
  ['src/[a-c]*.py', 'src/cart.py', true],
  ['src/[a-c]*.py', 'src/dart.py', false],
  ['src/*.{py,ts}', 'src/a.ts', true],
  ['src/*.{py,ts}', 'src/a.js', false],
  ['{src,lib}/**/*.{py,pyi}', 'lib/x/y.pyi', true],
  ['src/\\*.py', 'src/*.py', true],
  ['src/\\*.py', 'src/a.py', false],
  ['./src/a.py', 'src/a.py', true],
  ['a*b*c', 'aXXbYYc', true],
  ['a*b*c', 'aXXbYY', false],
  ['*a*', 'banana', true],
];

describe('globMatcher', () => {
  it.each(CASES)('%s on %s: %s, as picomatch says', (pattern, path, expected) => {
    expect(globMatcher(pattern)(path)).toBe(expected);
    expect(picomatch(pattern, { dot: true })(path)).toBe(expected);
  });

  it('negates a class with "!" as git and the shell do (picomatch reads it as a member)', () => {
    expect([globMatcher('src/[!abc].py')('src/d.py'), globMatcher('src/[!abc].py')('src/a.py')]).toEqual([true, false]);
  });

  it('matches a pattern without "/" against the file name when asked', () => {
    const py = globMatcher('*.py', { basename: true });
    expect([py('a.py'), py('src/deep/a.py'), py('src/a.ts')]).toEqual([true, true, false]);
    expect(globMatcher('*.py')('src/a.py')).toBe(false);
  });

  it('answers in time linear in the pattern and the path, where a regular expression backtracks for ever', () => {
    // Against a 60-character path picomatch took 21 s for the first (eight stars), and longer for each star more.
    for (const stars of [8, 20, 200]) {
      const pattern = `${'*a'.repeat(stars)}b`;
      expect(globMatcher(pattern)('a'.repeat(5000))).toBe(false);
      expect(globMatcher(pattern)(`${'a'.repeat(5000)}b`)).toBe(stars <= 5000);
    }
    expect(globMatcher('**/'.repeat(100) + 'x')(`${'a/'.repeat(2000)}y`)).toBe(false);
  });

  it('refuses an unclosed bracket when strict, and patterns that expand to too many alternatives', () => {
    expect(() => globMatcher('src/[abc', { strict: true })).toThrow(GlobError);
    expect(globMatcher('src/[abc')('src/[abc')).toBe(true);
    expect(() => globMatcher('{a,b}'.repeat(9))).toThrow(/more than 256/);
    expect(globMatcher('{a,b}'.repeat(8))('abababab')).toBe(true);
  });
});
