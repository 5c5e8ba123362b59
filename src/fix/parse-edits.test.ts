import { describe, expect, it } from 'vitest';
import { KodahError } from '../lib/errors.js';
import { EditFormatError, parseEdits } from './parse-edits.js';

const FENCE = '```';

function block(path: string, search: string, replace: string, marks = { lt: 7, eq: 7, gt: 7 }): string {
  return `${path}\n${'<'.repeat(marks.lt)} SEARCH\n${search}${'='.repeat(marks.eq)}\n${replace}${'>'.repeat(marks.gt)} REPLACE\n`;
}

function problemsOf(text: string): readonly string[] {
  try {
    parseEdits(text);
  } catch (err) {
    expect(err).toBeInstanceOf(EditFormatError);
    return (err as EditFormatError).problems;
  }
  throw new Error('expected an EditFormatError');
}

describe('parseEdits: the block form', () => {
  it('reads a fenced block with the path before the fence, and the explanation around it', () => {
    const text = `The loop stops one short.\n\nsrc/a.py\n${FENCE}python\n<<<<<<< SEARCH\nfor i in range(n - 1):\n=======\nfor i in range(n):\n>>>>>>> REPLACE\n${FENCE}\n\nThat is all.`;
    const { explanation, edits } = parseEdits(text);
    expect(edits).toEqual([{ path: 'src/a.py', search: 'for i in range(n - 1):\n', replace: 'for i in range(n):\n', index: 0 }]);
    expect(explanation).toBe('The loop stops one short.\n\nThat is all.');
  });

  it('reads the path as the first line inside the fence, and blocks outside any fence', () => {
    const text = `${FENCE}python\nsrc/a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n${FENCE}\n${block('b.txt', 'old\n', 'new\n')}`;
    expect(parseEdits(text).edits.map((e) => [e.path, e.search, e.replace, e.index])).toEqual([
      ['src/a.py', 'x = 1\n', 'x = 2\n', 0],
      ['b.txt', 'old\n', 'new\n', 1],
    ]);
  });

  it('keeps several blocks per file in answer order; a pathless block in the same fence continues the file', () => {
    const text = `${FENCE}\na.py\n<<<<<<< SEARCH\none\n=======\n1\n>>>>>>> REPLACE\n<<<<<<< SEARCH\ntwo\n=======\n2\n>>>>>>> REPLACE\n${FENCE}\n${block('b.py', 'x\n', 'y\n')}${block('a.py', 'three\n', '3\n')}`;
    const { edits } = parseEdits(text);
    expect(edits.map((e) => `${e.index}:${e.path}:${e.replace.trim()}`)).toEqual(['0:a.py:1', '1:a.py:2', '2:b.py:y', '3:a.py:3']);
  });

  it('accepts the path decorated the ways models write it', () => {
    for (const line of [
      '`src/a.py`',
      '**src/a.py**',
      'File: src/a.py',
      '# src/a.py',
      '// src/a.py',
      '**File:** `src/a.py`',
      '### `src/a.py`:',
      './src//a.py',
      'Filename: "src/a.py"',
    ]) {
      expect(parseEdits(block(line, 'a\n', 'b\n')).edits[0]!.path, line).toBe('src/a.py');
    }
    expect(parseEdits(block('Makefile', 'a\n', 'b\n')).edits[0]!.path).toBe('Makefile');
  });

  it('accepts 5 to 9 marker characters and trailing spaces on marker lines', () => {
    expect(parseEdits(block('a.py', 'x\n', 'y\n', { lt: 5, eq: 9, gt: 6 })).edits).toHaveLength(1);
    expect(parseEdits('a.py\n<<<<<<< SEARCH  \nx\n=======   \ny\n>>>>>>> REPLACE\t\n').edits[0]!.replace).toBe('y\n');
  });

  it('reads CRLF answers as LF and tolerates a missing final newline', () => {
    const { edits } = parseEdits('a.py\r\n<<<<<<< SEARCH\r\nx = 1\r\n=======\r\nx = 2\r\n>>>>>>> REPLACE');
    expect(edits[0]).toMatchObject({ search: 'x = 1\n', replace: 'x = 2\n' });
  });

  it('reads an empty SEARCH (a new file) and an empty REPLACE (a deletion) as empty strings', () => {
    const { edits } = parseEdits(`${block('new/file.py', '', 'print(1)\n')}${block('a.py', 'gone\n', '')}`);
    expect(edits.map((e) => [e.search, e.replace])).toEqual([
      ['', 'print(1)\n'],
      ['gone\n', ''],
    ]);
  });

  it('takes the divider as long as the markers when the text holds another line of = signs', () => {
    const { edits } = parseEdits(block('README.rst', 'Usage\n', 'Usage\n=====\n'));
    expect(edits[0]!.replace).toBe('Usage\n=====\n');
  });

  it('returns no edits for an answer without blocks', () => {
    expect(parseEdits('I could not find the bug.')).toEqual({ explanation: 'I could not find the bug.', edits: [] });
  });
});

describe('parseEdits: refusals', () => {
  it('refuses paths that leave the repository, are absolute, or point into .git/', () => {
    const cases: Array<[string, RegExp]> = [
      ['../etc/passwd', /'\.\.'/],
      ['src/../../x.py', /'\.\.'/],
      ['.git/config', /\.git\//],
      ['sub/.GIT/hooks/pre-commit', /\.git\//],
      ['.git./config', /\.git\//],
      ['/etc/passwd', /absolute/],
      ['C:/x.py', /absolute/],
      ['~/x.py', /absolute/],
      ['src\\a.py', /backslash/],
      ['src/', /directory/],
    ];
    for (const [path, why] of cases) {
      const problems = problemsOf(block(`\`${path}\``, 'a\n', 'b\n'));
      expect(problems.join(' '), path).toMatch(why);
    }
    expect(problemsOf(block('`a\u0000.py`', 'a\n', 'b\n'))[0]).toMatch(/NUL/);
  });

  it('refuses a block with no path, and a pathless block in a new fence', () => {
    expect(problemsOf(`Change it like this:\n${FENCE}python\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n${FENCE}`)[0]).toMatch(
      /block 1: no file path.*Change it like this/,
    );
    expect(problemsOf('<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n')[0]).toMatch(/block 1: no file path/);
    const second = `${FENCE}\n${block('a.py', 'a\n', 'b\n')}${FENCE}\n\n${FENCE}\n<<<<<<< SEARCH\nc\n=======\nd\n>>>>>>> REPLACE\n${FENCE}`;
    expect(problemsOf(second)).toEqual([expect.stringMatching(/^block 2: no file path/)]);
  });

  it('refuses unterminated blocks, a block interrupted by another, and a missing divider', () => {
    expect(problemsOf('a.py\n<<<<<<< SEARCH\nx\n=======\ny\n')[0]).toMatch(/block 1 \(a\.py\): no `>>>>>>> REPLACE`.*unterminated/);
    expect(problemsOf('a.py\n<<<<<<< SEARCH\nx\n=======\ny\nb.py\n<<<<<<< SEARCH\nz\n=======\nw\n>>>>>>> REPLACE\n')[0]).toMatch(
      /block 1 \(a\.py\): a new `<<<<<<< SEARCH` starts at line 7/,
    );
    expect(problemsOf(block('a.py', 'x\ny\n', '').replace('=======\n', ''))[0]).toMatch(/no `=======` line/);
  });

  it('refuses a block whose dividing line cannot be told apart from its text', () => {
    expect(problemsOf(block('a.rst', 'Title\n=======\n', 'Title\n=======\n'))[0]).toMatch(/unclear which one divides/);
  });

  it('reports stray and malformed markers instead of ignoring them', () => {
    expect(problemsOf('a.py\n<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n')[0]).toMatch(/line 2 .*looks like a block marker/);
    expect(problemsOf('Some text\n>>>>>>> REPLACE\n')[0]).toMatch(/line 2/);
  });

  it('lists every problem in one KodahError whose message can go back to the model', () => {
    let error: unknown;
    try {
      parseEdits(`${block('../a.py', 'x\n', 'y\n')}${block('.git/HEAD', 'x\n', 'y\n')}`);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(KodahError);
    const e = error as EditFormatError;
    expect(e.problems).toHaveLength(2);
    expect(e.code).toBe('job_failed');
    expect(e.message).toMatch(/^The edit blocks could not be read:\n- block 1: the path `\.\.\/a\.py`/);
    expect(e.message).toMatch(/<<<<<<< SEARCH/);
  });
});
