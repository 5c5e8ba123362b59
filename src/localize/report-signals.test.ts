import { describe, expect, it } from 'vitest';
import { cleanReport, readReport } from './report-signals.js';

const REPORT = `\`Header.fromstring\` fails on bytes in astropy.io.fits
<!-- Please describe the bug; hidden template text about payments and licenses -->
\`\`\`python
import xarray as xr
from sympy.physics.quantum.dagger import Dagger
xr.where(cond, 1, 0)
\`\`\`
Traceback (most recent call last):
  File "/home/me/script.py", line 3, in <module>
  File "/usr/lib/site-packages/astropy/io/fits/header.py", line 350, in fromstring
  File "/usr/lib/python3.9/re.py", line 12, in match
TypeError: cannot use a string pattern on a bytes-like object
INSTALLED VERSIONS
python: 3.9.1
numpy: 1.20
scipy: 1.6
pandas: 1.2
`;

describe('reading a bug report', () => {
  const report = readReport(REPORT);

  it('drops hidden template comments and environment dumps', () => {
    const text = cleanReport(REPORT);
    expect(text).not.toMatch(/payments|numpy: 1.20/);
    expect(text).toMatch(/TypeError/);
  });

  it('numbers stack frames from the innermost outwards', () => {
    expect(report.frames.map((f) => [f.func, f.depth])).toEqual([
      ['<module>', 2],
      ['fromstring', 1],
      ['match', 0],
    ]);
    expect(report.paths).toContain('/usr/lib/site-packages/astropy/io/fits/header.py');
  });

  it('expands import aliases and weighs prose mentions over code', () => {
    expect(report.modules.get('astropy.io.fits')).toBe(1);
    expect(report.modules.get('xarray.where')).toBe(0.5);
    expect(report.imports).toContainEqual({ module: 'sympy.physics.quantum.dagger', name: 'Dagger' });
    expect(report.qualified).toContainEqual({ owner: 'Header', member: 'fromstring' });
  });

  it('takes identifiers from inline code at full weight and ignores names every report uses', () => {
    expect(report.identifiers.get('fromstring')).toBe(1);
    expect(report.identifiers.has('None')).toBe(false);
    expect(report.title).toMatch(/^`Header.fromstring` fails/);
  });

  it('reads a word written as a call in the prose as code, and a title word it names', () => {
    const plain = readReport("Fraction calc value error\nwhen calc Fraction('0.5', '100') the value is wrong (as in version 1.8)");
    expect(plain.identifiers.get('Fraction')).toBe(1);
    // Parentheses after a word with a space, or never closed on the line, are prose.
    expect(plain.identifiers.has('version')).toBe(false);
    expect(readReport('A crash\nit fails when (oddly) called with Spline(\nx)').identifiers.has('Spline')).toBe(false);
  });

  it('takes the plain words of the title weakly, a capitalised first word in lower case too', () => {
    const ids = readReport('Posify ignores `is_finite` assumptions\nbody text').identifiers;
    expect(ids.get('is_finite')).toBe(1);
    expect(ids.get('posify')).toBe(0.3);
    expect(ids.get('Posify')).toBe(0.3);
    expect(ids.get('ignores')).toBe(0.3);
    expect(ids.has('body')).toBe(false);
  });
});

it('reads a 64 KB report built to make regular expressions backtrack, and still finds what it names', () => {
  // Each took 3.5–9 s (the API takes 64 KB): a run of "a." or letters re-read by the path pattern
  // at every place it starts, blanks split every way by the environment-line pattern, and one
  // long module imported under 5,000 names.
  const tail = ' Fails in sympy/core/basic.py.';
  for (const filler of ['a.'.repeat(32_000), 'a'.repeat(64_000), 'a/'.repeat(32_000), `${' '.repeat(64_000)}!`]) {
    expect(readReport(filler + tail).paths).toContain('sympy/core/basic.py');
  }
  const imports = readReport(`from ${'a.'.repeat(20_000)}b import ${'a, '.repeat(5_000)}\n${tail}`);
  expect(imports.paths).toEqual(['sympy/core/basic.py']);
  expect(imports.imports.filter((i) => i.name === 'a')).toHaveLength(5_000);
  // A watchdog, not a speed goal: all of it takes about 100 ms, and took 30 s.
}, 5_000);
