import { describe, expect, it } from 'vitest';
import { preludeOf } from './module-prelude.js';

const lines = (text: string) => text.split('\n');

describe('the prelude of a file', () => {
  it('is what lies between the docstring and the first definition, with one line after it', () => {
    const file = lines(
      [
        '"""Module docs.',
        '',
        'More docs."""',
        'import os',
        'from .a import (b,',
        '    c)',
        '',
        'TABLE = {"x": 1}',
        '',
        '',
        'def f():',
        '    pass',
      ].join('\n'),
    );
    expect(preludeOf(file, 80)).toEqual([4, 9]);
  });

  it('keeps only the imports when the whole prelude is too long, and nothing when they are too', () => {
    const file = lines(
      ['# licence', 'import os', 'from x import (a,', '    b)', ...Array(100).fill('X = 1'), 'class C:', '    pass'].join('\n'),
    );
    expect(preludeOf(file, 80)).toEqual([2, 5]);
    expect(preludeOf(file, 2)).toBeNull();
  });

  it('is empty when the file starts with a definition', () => {
    expect(preludeOf(lines('@decorator\ndef f():\n    pass'), 80)).toBeNull();
  });
});
