import { describe, expect, it } from 'vitest';
import { boostCallees } from './boost-callees.js';
import type { RankedSnippet } from './rank-snippets.js';

const snippet = (name: string, path: string, score: number, text: string, kind: RankedSnippet['kind'] = 'function'): RankedSnippet => ({
  name,
  qualifiedName: name,
  kind,
  enclosing: null,
  language: 'python',
  startLine: 1,
  endLine: 2,
  signature: `def ${name}()`,
  path,
  score,
  reasons: [],
  text,
});

describe('boosting the callees of the best snippets', () => {
  it('raises a helper the best function calls in its own file, and nothing elsewhere', () => {
    const best = snippet('polyval', 'a.py', 1, 'def polyval(x):\n    return _ensure_numeric(x)');
    const helper = snippet('_ensure_numeric', 'a.py', 0.2, 'def _ensure_numeric(x): ...');
    const namesake = snippet('_ensure_numeric', 'b.py', 0.2, 'def _ensure_numeric(x): ...');
    const unrelated = snippet('other', 'a.py', 0.2, 'def other(): ...');
    boostCallees([best, helper, namesake, unrelated]);
    expect(helper.score).toBeCloseTo(0.5);
    expect(helper.reasons).toEqual(['called by polyval']);
    expect([namesake.score, unrelated.score, best.score]).toEqual([0.2, 0.2, 1]);
  });
});
