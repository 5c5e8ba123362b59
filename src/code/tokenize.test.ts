import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { tokenize } from './tokenize.js';

describe('code-aware tokens', () => {
  it('keeps identifiers whole and splits camelCase, snake_case and acronyms', () => {
    expect(tokenize('parse_HTTPHeader')).toEqual(['parse_httpheader', 'parse', 'http', 'header']);
    expect(tokenize('calculateTotal(items)')).toEqual(['calculatetotal', 'calculate', 'total', 'items']);
  });
  it('drops stop words, keywords, single letters and bare numbers', () => {
    expect(tokenize('def f(self, x): return the 42 value')).toEqual(['value']);
  });
  it('ends identifiers where the ASCII ones end: at other letters, and before a leading digit', () => {
    expect(tokenize('café_bar 2abc x9y ab1_2cd')).toEqual(['caf', '_bar', 'abc', 'x9y', 'ab1_2cd', 'ab', 'cd']);
  });
  it('skips an identifier of more than 64 characters whole, and reads on after it', () => {
    expect(tokenize(`${'a'.repeat(65)}_Tail keep ${'b'.repeat(64)}`)).toEqual(['keep', 'b'.repeat(64)]);
  });
  it('gives the same tokens once the identifiers it has split fill its memory and it starts again', () => {
    const before = tokenize('parse_HTTPHeader calculateTotal');
    // More distinct identifiers than are kept: the memory is emptied on the way.
    const many = Array.from({ length: 120_000 }, (_, i) => `Word_${i}_Part`).join(' ');
    const tokens = tokenize(many);
    expect(tokens.length).toBe(120_000 * 3);
    expect(tokens.slice(-3)).toEqual(['word_119999_part', 'word', 'part']);
    expect(tokenize('parse_HTTPHeader calculateTotal')).toEqual(before);
  });
  it('keeps no text alive through the identifiers it remembers', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    // Twenty 5 MB texts, each with an identifier of its own long enough for V8 to cut as a view.
    const tokens = Array.from({ length: 20 }, (_, i) => tokenize(`${'+'.repeat(5_000_000)} identifier_long_name_${i}`));
    gc();
    expect(tokens[19]).toContain('identifier_long_name_19');
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(20_000_000);
  });
});
