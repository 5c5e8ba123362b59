import { describe, expect, it } from 'vitest';
import { applyEdits } from './apply-edits.js';
import type { Edit } from './parse-edits.js';

const edit = (search: string, replace: string, path = 'a.py', index = 0): Edit => ({ path, search, replace, index });

/** Applies edits to one file and returns its new content (or the outcome's failures, for refusals). */
function apply1(content: string | null, ...edits: Edit[]) {
  const outcome = applyEdits(
    new Map([['a.py', content]]),
    edits.map((e, index) => ({ ...e, index })),
  );
  return { content: outcome.files.get('a.py'), ...outcome };
}

const CLASS = [
  'class A:',
  '    def f(self, x):',
  '        y = x * 2',
  '        return y',
  '',
  '    def g(self):',
  '        return 1',
  '',
].join('\n');

describe('applyEdits: exact matches', () => {
  it('replaces a unique exact SEARCH and reports where', () => {
    const r = apply1(CLASS, edit('        y = x * 2\n', '        y = x * 3\n'));
    expect(r.content).toBe(CLASS.replace('x * 2', 'x * 3'));
    expect(r.applied).toEqual([{ index: 0, path: 'a.py', how: 'exact', line: 3 }]);
    expect(r.failures).toEqual([]);
  });

  it('refuses a SEARCH that matches more than one place, naming the lines', () => {
    const text = 'a = 1\nprint(a)\nb = 2\nprint(a)\n';
    const r = apply1(text, edit('print(a)\n', 'print(b)\n'));
    expect(r.content).toBeUndefined();
    expect(r.failures).toEqual([
      {
        index: 0,
        path: 'a.py',
        reason: 'ambiguous',
        message: 'Edit block 1 (a.py): SEARCH text matches 2 places (lines 2 and 4); add surrounding lines to make it unique',
      },
    ]);
  });

  it('matches whole lines only, never the middle of one', () => {
    const r = apply1('xprint(a)\n', edit('print(a)\n', 'print(b)\n'));
    expect(r.failures[0]!.reason).toBe('not_found');
  });

  it('applies edits to one file in order, each against the content the previous one left', () => {
    const r = apply1(
      CLASS,
      edit('        y = x * 2\n', '        z = x * 2\n'),
      edit('        z = x * 2\n        return y\n', '        return z\n'),
    );
    expect(r.content).toBe(CLASS.replace('        y = x * 2\n        return y\n', '        return z\n'));
  });
});

describe('applyEdits: whitespace tolerance', () => {
  it('ignores trailing whitespace, and keeps the file text of lines carried over unchanged', () => {
    const text = 'def f():  \n    a = 1\t\n    return a\n';
    const r = apply1(text, edit('def f():\n    a = 1   \n    return a\n', 'def f():\n    a = 1   \n    return a + 1\n'));
    expect(r.content).toBe('def f():  \n    a = 1\t\n    return a + 1\n');
    expect(r.applied[0]!.how).toBe('whitespace');
  });

  it('matches a SEARCH whose indentation is off by a constant, and re-indents REPLACE to the file', () => {
    const dedented = apply1(CLASS, edit('def f(self, x):\n    y = x * 2\n', 'def f(self, x):\n    if x:\n        x += 1\n    y = x * 2\n'));
    expect(dedented.content).toBe(CLASS.replace('        y = x * 2', '        if x:\n            x += 1\n        y = x * 2'));
    expect(dedented.applied[0]!.how).toBe('indent');
    const over = apply1(CLASS, edit('          y = x * 2\n          return y\n', '          return x * 2\n'));
    expect(over.content).toBe(CLASS.replace('        y = x * 2\n        return y', '        return x * 2'));
  });

  it('handles a tab offset as well as spaces', () => {
    const text = 'func f() {\n\tif x {\n\t\treturn 1\n\t}\n}\n';
    const r = apply1(text, edit('if x {\n\treturn 1\n}\n', 'if x {\n\treturn 2\n}\n'));
    expect(r.content).toBe(text.replace('return 1', 'return 2'));
  });

  it('refuses to re-indent REPLACE lines that are less indented than the offset', () => {
    const r = apply1(CLASS, edit('            return 1\n', 'return 2\n'));
    expect(r.failures[0]).toMatchObject({ reason: 'reindent' });
  });

  it('counts places that differ only in indentation when deciding a SEARCH is ambiguous', () => {
    const text = 'if a:\n    x = 1\nif b:\n        x = 1\n';
    const r = apply1(text, edit('    x = 1\n', '    x = 2\n'));
    expect(r.failures[0]!.message).toMatch(
      /matches 2 places \(lines 2 and 4, counting places that differ only in whitespace or indentation\)/,
    );
  });

  it('drops blank lines around SEARCH that the file does not have, and REPLACE’s matching ones', () => {
    const text = 'a = 1\nb = 2\nc = 3\n';
    const r = apply1(text, edit('\nb = 2\n\n', '\nb = 20\n\n'));
    expect(r.content).toBe('a = 1\nb = 20\nc = 3\n');
  });

  it('keeps blank edge lines right when REPLACE is only blank lines, and whitespace-only lines as the file has them', () => {
    // Both found by bench:edits on requests: a deleted line between blanks; a whitespace-only context line.
    expect(apply1('import a\n\nclass T:\n\n    x = 1\n', edit('\n\nclass T:\n\n\n', '\n\n\n\n')).content).toBe('import a\n\n\n    x = 1\n');
    expect(apply1('x = 1\n        \ny = 2\nz = 3\n', edit('\ny = 2\nz = 3\n\n', '\ny = 20\nz = 3\n\n')).content).toBe(
      'x = 1\n        \ny = 20\nz = 3\n',
    );
    // Found on numpy: a whitespace-only line the edit empties stays emptied, though an added blank SEARCH line matched another.
    const numpy = 'f(1)\n    \n# a b\nm = 1\n    \nnext\n';
    expect(apply1(numpy, edit('f(1)\n    \n# a b\nm = 1\n\n', 'f(1)\n\n# a\n# b\nm = 1\n\n')).content).toBe(
      'f(1)\n\n# a\n# b\nm = 1\n    \nnext\n',
    );
  });

  it('keeps a CRLF file CRLF, reads CRLF edits against LF files, and leaves other lines’ endings alone', () => {
    expect(apply1('a = 1\r\nb = 2\r\n', edit('b = 2\n', 'b = 3\nc = 4\n')).content).toBe('a = 1\r\nb = 3\r\nc = 4\r\n');
    expect(apply1('a = 1\nb = 2\n', edit('a = 1\r\n', 'a = 0\r\n')).content).toBe('a = 0\nb = 2\n');
    expect(apply1('a\r\nb\nc\r\nd\r\n', edit('d\n', 'e\n')).content).toBe('a\r\nb\nc\r\ne\r\n');
  });

  it('matches past a byte-order mark and keeps it; a BOM is never taken for indentation', () => {
    expect(apply1('\uFEFFimport os\nx = 1\n', edit('import os\n', 'import sys\n')).content).toBe('\uFEFFimport sys\nx = 1\n');
    expect(apply1('a = 1\n\u00a0b = 2\n', edit('b = 2\n', 'b = 3\n')).failures[0]!.reason).toBe('not_found');
  });

  it('keeps a missing final newline missing', () => {
    expect(apply1('a = 1\nb = 2', edit('b = 2\n', 'b = 3\n')).content).toBe('a = 1\nb = 3');
    expect(apply1('a = 1\nb = 2', edit('b = 2\n', '')).content).toBe('a = 1');
  });
});

describe('applyEdits: elided context', () => {
  const LONG = [
    'def run(items):',
    '    total = 0',
    '    for i in items:',
    '        total += i',
    '    log(total)',
    '    return total',
    '',
  ].join('\n');

  it('lets `...` stand for the lines between two uniquely placed parts, and keeps them', () => {
    for (const marker of ['...', '    # ...', '// ...']) {
      const r = apply1(
        LONG,
        edit(`def run(items):\n${marker}\n    return total\n`, `def run(items: list):\n${marker}\n    return total or None\n`),
      );
      expect(r.content, marker).toBe(LONG.replace('(items)', '(items: list)').replace('return total', 'return total or None'));
      expect(r.applied[0]!.how).toBe('elided');
    }
  });

  it('refuses parts around `...` that fit more than one way or not in order', () => {
    const twice = 'def a():\n    x = 1\n    return x\ndef b():\n    return x\n';
    expect(apply1(twice, edit('def a():\n...\n    return x\n', 'def a():\n...\n    return 0\n')).failures[0]).toMatchObject({
      reason: 'ambiguous',
    });
    expect(
      apply1(LONG, edit('    return total\n...\ndef run(items):\n', '    return 0\n...\ndef run(items):\n')).failures[0],
    ).toMatchObject({ reason: 'not_found' });
    expect(apply1(LONG, edit('def run(items):\n...\n    missing()\n', 'x\n...\ny\n')).failures[0]!.message).toMatch(
      /after the last `...` is not in the file/,
    );
  });

  it('refuses a REPLACE whose `...` lines do not correspond to SEARCH’s', () => {
    const r = apply1(LONG, edit('def run(items):\n...\n    return total\n', 'def run(items):\n    return total\n'));
    expect(r.failures[0]).toMatchObject({ reason: 'elision' });
    expect(r.failures[0]!.message).toMatch(/1 time\(s\) but REPLACE 0/);
  });

  it('refuses when `...` lines could be code or elisions and the readings disagree', () => {
    // Found by bench:edits on flask: a docstring's own `...` plus an elision marker.
    const doc = [
      'def f():',
      '    """Example::',
      '',
      '        ctx.push()',
      '        ...',
      '        ctx.pop()',
      '    """',
      '    return 1',
      '',
    ].join('\n');
    const r = apply1(
      doc,
      edit(
        'def f():\n    # ...\n        ctx.push()\n        ...\n        ctx.pop()\n',
        'def f():\n    # ...\n        with ctx:\n            ...\n',
      ),
    );
    expect(r.failures[0]).toMatchObject({ reason: 'ambiguous', message: expect.stringMatching(/can be read more than one way/) });
    const bare = apply1(
      doc,
      edit('def f():\n...\n        ctx.push()\n        ...\n        ctx.pop()\n', 'def f():\n...\n        with ctx:\n            ...\n'),
    );
    expect(bare.failures[0]).toMatchObject({ reason: 'ambiguous' });
    // When every reading that fits gives the same file, there is nothing to guess.
    const same = apply1(
      doc,
      edit('def f():\n    # ...\n        ...\n        ctx.pop()\n', 'def f():\n    # ...\n        ...\n        ctx.close()\n'),
    );
    expect(same.content).toBe(doc.replace('ctx.pop()', 'ctx.close()'));
  });

  it('stays quick on hostile input (many `...` lines, huge files of identical lines) and never calls a crowded SEARCH unique', () => {
    const stubs = Array.from({ length: 40 }, (_, i) => `def m${i}(self):\n...`).join('\n');
    const started = performance.now();
    const r = apply1(LONG, edit('def run(items):\n...\n    return total\n', `def run(items):\n...\n    return total\n${stubs}\n`));
    expect(r.failures[0]).toMatchObject({ reason: expect.stringMatching(/ambiguous|elision/) });
    const huge = apply1('x = 1\n'.repeat(50_000), edit('x = 1\nx = 2\n', 'y\n'));
    expect(huge.failures[0]).toMatchObject({ reason: 'not_found' });
    const same = '}\n'.repeat(100_000);
    const crowded = apply1(same, edit('}\n'.repeat(50), '\n'));
    expect(crowded.failures[0]!.message).toMatch(/SEARCH text matches too many places to list \(lines 1, 2, 3 and \d+ more, …\)/);
    const elided = apply1(same, edit(`${'}\n'.repeat(2000)}...\n${'}\n'.repeat(2000)}`, 'x\n...\n'));
    expect(elided.failures[0]).toMatchObject({ reason: 'ambiguous' });
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('matches a literal `...` line (a Python stub) as code before treating it as elision', () => {
    const stub = 'def f():\n    ...\n\ndef g():\n    pass\n';
    expect(apply1(stub, edit('def f():\n    ...\n', 'def f():\n    return 1\n')).content).toBe(
      'def f():\n    return 1\n\ndef g():\n    pass\n',
    );
  });
});

describe('applyEdits: files', () => {
  it('creates a missing file from an empty SEARCH, and fills an empty one', () => {
    expect(apply1(null, edit('', 'print(1)\n')).content).toBe('print(1)\n');
    expect(apply1('', edit('', 'print(1)\n')).applied[0]!.how).toBe('created');
  });

  it('refuses an empty SEARCH on a non-empty file, and a SEARCH on a missing file', () => {
    expect(apply1('x = 1\n', edit('', 'y = 2\n')).failures[0]!.message).toBe(
      'Edit block 1 (a.py): empty SEARCH only creates new files, and this file already exists; quote the lines to change in SEARCH',
    );
    expect(apply1(null, edit('x\n', 'y\n')).failures[0]).toMatchObject({
      reason: 'missing_file',
      message: expect.stringMatching(/file does not exist/),
    });
    expect(applyEdits(new Map(), [edit('x\n', 'y\n', 'other.py')]).failures[0]!.reason).toBe('missing_file');
  });

  it('says which SEARCH line differs from the closest place when nothing matches', () => {
    const r = apply1(CLASS, edit('    def f(self, x):\n        y = x * 4\n        return y\n', '    pass\n'));
    expect(r.failures[0]!.message).toBe(
      "Edit block 1 (a.py): SEARCH text not found. The closest place starts at line 2, where SEARCH line 2 `        y = x * 4` differs from the file's line 3 `        y = x * 2`; copy the current lines exactly.",
    );
  });

  it('reports a failed edit and still applies the others; returns only files that changed', () => {
    const files = new Map<string, string | null>([
      ['a.py', 'a = 1\n'],
      ['b.py', 'b = 1\n'],
      ['c.py', 'c = 1\n'],
    ]);
    const outcome = applyEdits(files, [
      edit('nope\n', 'x\n', 'a.py', 0),
      edit('b = 1\n', 'b = 2\n', 'b.py', 1),
      edit('c = 1\n', 'c = 1\n', 'c.py', 2),
    ]);
    expect([...outcome.files]).toEqual([['b.py', 'b = 2\n']]);
    expect(outcome.applied.map((a) => a.index)).toEqual([1, 2]);
    expect(outcome.failures.map((f) => [f.index, f.path, f.reason])).toEqual([[0, 'a.py', 'not_found']]);
    expect(files.get('b.py')).toBe('b = 1\n');
  });
});
