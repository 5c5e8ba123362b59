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
});
