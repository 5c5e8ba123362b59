import { expect, it } from 'vitest';
import { fileFacts } from './file-facts.js';

it('reads what each `from … import` line brings in, with aliases, lists and comments', () => {
  const facts = fileFacts(
    [
      'from .core import Symbol, Rational as Q  # noqa: F401',
      'from sympy.printing import (',
      '    latex,  # the LaTeX printer',
      '    pretty as pp,',
      ')',
      'from a.b import c, \\',
      '    d',
      'from x import *',
      'from y import not valid, z',
      'def f():',
      '    return Symbol',
    ].join('\n'),
  );
  expect(Object.fromEntries(facts.reexports)).toEqual({
    Symbol: '.core',
    Q: '.core',
    latex: 'sympy.printing',
    pp: 'sympy.printing',
    c: 'a.b',
    d: 'a.b',
    z: 'y',
  });
  expect([...facts.definitions]).toEqual(['f']);
});

it('finds Go, Rust and TypeScript definitions, receivers and visibility included', () => {
  const facts = fileFacts('func (s *Server) Serve() {}\npub(crate) struct Config {}\nexport async function load() {}\n');
  expect([...facts.definitions].sort()).toEqual(['Config', 'Serve', 'load']);
});

// A repository's files are its owner's to write, up to the megabyte the localizer reads. A line
// that opens a list or a receiver it never closes made the reader scan to the end of the file
// from each such line (89 s for `from a import (` lines); so would lists closed far below and
// backslash-continued lines, were a list not cut at the next import line; and a long run of
// blanks in an import list was quadratic too. The watchdog is the test's timeout: each of these
// takes well under a second now.
it.each(
  Object.entries({
    'import lists never closed': 'from a import (\n',
    'indented import lists never closed': '  from a.b import (x,\n',
    'Go receivers never closed': 'func (\n',
    'Rust visibilities never closed': 'pub(\n',
    'import lists closed at once': 'from a import (b,\n)\n',
    'import lists closed a thousand lines below': `${'from a import (\n'.repeat(1000)})\n`,
    'backslash-continued import lines': 'from a import b, \\\n',
  }),
)(
  'reads a megabyte of %s in linear time',
  (_, run) => {
    expect(fileFacts(run.repeat(Math.floor(1_000_000 / run.length))).definitions).toBeDefined();
  },
  10_000,
);

it('reads an import list with a megabyte-long run of blanks in linear time', () => {
  expect(fileFacts(`from a import b${' '.repeat(1_000_000)}c\n`).reexports.size).toBe(0);
}, 10_000);
