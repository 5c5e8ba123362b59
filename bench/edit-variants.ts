/**
 * The mistakes bench:edits makes on purpose: each turns a correct block into what a model really
 * emits (shifted, with stray whitespace, elided, stale, ambiguous, CRLF), with the file content
 * the result must equal, or null when the edit must be refused.
 */
import type { FailureReason } from '../src/fix/apply-edits.js';
import { findMatches, splitLines } from '../src/fix/match-lines.js';
import type { BenchBlock } from './edit-corpus.js';

export interface VariantCase {
  search: string[];
  replace: string[];
  state: string;
  /** What the file must become; null: the edit must fail, for `reason`. */
  expected: string | null;
  reason?: FailureReason;
  crlfAnswer?: boolean;
}

export type Variant = (block: BenchBlock, n: number) => VariantCase | null;

const asIs = (b: BenchBlock): VariantCase => ({ search: b.search, replace: b.replace, state: b.state, expected: b.expected });

/** REPLACE lines that are context: the same lines as SEARCH's first `before` and last `after`. */
const isContext = (b: BenchBlock, i: number) => i < b.before || i >= b.replace.length - b.after;

const shift = (lines: string[], by: string) => lines.map((l) => (l.trim() ? by + l : l));

function commonIndent(lines: string[]): string {
  const indents = lines.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)![0]);
  if (indents.length === 0) return '';
  let common = indents[0]!;
  for (const i of indents) while (!i.startsWith(common)) common = common.slice(0, -1);
  return common;
}

/** The line with one word misremembered (plural for singular), middle word first. */
function staleLines(line: string): string[] {
  const words = [...line.matchAll(/[A-Za-z_]{4,}/g)];
  const mid = words.length >> 1;
  const order = [...words.slice(mid), ...words.slice(0, mid).reverse()];
  return order.map((w) => {
    const changed = w[0].endsWith('s') ? w[0].slice(0, -1) : `${w[0]}s`;
    return line.slice(0, w.index) + changed + line.slice(w.index + w[0].length);
  });
}

export const VARIANTS: Record<string, Variant> = {
  correct: asIs,
  'indent +2': (b) => ({ ...asIs(b), search: shift(b.search, '  '), replace: shift(b.replace, '  ') }),
  'indent +4': (b) => ({ ...asIs(b), search: shift(b.search, '    '), replace: shift(b.replace, '    ') }),
  dedented: (b) => {
    const common = commonIndent([...b.search, ...b.replace]);
    if (!common) return null;
    const cut = (lines: string[]) => lines.map((l) => (l.trim() ? l.slice(common.length) : l));
    return { ...asIs(b), search: cut(b.search), replace: cut(b.replace) };
  },
  'trailing ws added': (b) => ({
    ...asIs(b),
    search: b.search.map((l) => (l.trim() ? `${l}  ` : l)),
    replace: b.replace.map((l, i) => (isContext(b, i) && l.trim() ? `${l}  ` : l)),
  }),
  'trailing ws removed': (b) => {
    // Only context lines: on a changed line, whether the model meant to keep invisible whitespace is unknowable.
    const trailing = (l: string) => l !== l.trimEnd();
    if (!b.search.some((l, i) => trailing(l) && (i < b.before || i >= b.search.length - b.after))) return null;
    if (b.search.slice(b.before, b.search.length - b.after).some(trailing)) return null;
    return { ...asIs(b), search: b.search.map((l) => l.trimEnd()), replace: b.replace.map((l, i) => (isContext(b, i) ? l.trimEnd() : l)) };
  },
  'blank lines around': (b) => ({ ...asIs(b), search: ['', ...b.search, ''], replace: ['', ...b.replace, ''] }),
  'elided context': (b, n) => {
    const lines = splitLines(b.state).map((l) => l.text);
    for (let gap = 2; gap <= 8; gap++) {
      for (let h = 1; h <= 3; h++) {
        const headStart = b.start - gap - h;
        if (headStart < 0) continue;
        const head = lines.slice(headStart, headStart + h);
        const found = findMatches(lines, head);
        if (!head.some((l) => l.trim()) || found.length !== 1 || found.incomplete) continue;
        const indent = /^\s*/.exec(b.search.find((l) => l.trim()) ?? '')![0];
        const marker = n % 2 ? `${indent}# ...` : '...';
        return { ...asIs(b), search: [...head, marker, ...b.search], replace: [...head, marker, ...b.replace] };
      }
    }
    return null;
  },
  'crlf answer': (b) => ({ ...asIs(b), crlfAnswer: true }),
  'crlf file': (b) => ({ ...asIs(b), state: b.state.replace(/\n/g, '\r\n'), expected: b.expected.replace(/\n/g, '\r\n') }),
  'stale line (must fail)': (b) => {
    const changed = [...b.search.keys()].filter((i) => i >= b.before && i < b.search.length - b.after);
    const lines = splitLines(b.state).map((l) => l.text);
    for (const i of [...changed, ...b.search.keys()]) {
      for (const stale of staleLines(b.search[i]!)) {
        const search = b.search.map((l, j) => (j === i ? stale : l));
        // A rewrite that happens to be real text of the file (userToken → userTokens) is not stale.
        const found = findMatches(lines, search);
        if (found.length > 0 || found.incomplete) continue;
        // A context line the model misremembers, it also copies into REPLACE.
        const r = i < b.before ? i : i >= b.search.length - b.after ? b.replace.length - (b.search.length - i) : -1;
        const replace = b.replace.map((l, j) => (j === r ? stale : l));
        return { search, replace, state: b.state, expected: null, reason: 'not_found' };
      }
    }
    return null;
  },
  'ambiguous (must fail)': (b) => {
    const lines = splitLines(b.state).map((l) => l.text);
    const old = b.search.slice(b.before, b.search.length - b.after);
    if (old.some((l) => l.trim()) && findMatches(lines, old).length > 1) {
      return {
        search: old,
        replace: b.replace.slice(b.before, b.replace.length - b.after),
        state: b.state,
        expected: null,
        reason: 'ambiguous',
      };
    }
    // Otherwise the repeated line nearest the change: what a model quoting too little would send.
    const near = [...lines.keys()].sort((x, y) => Math.abs(x - b.start) - Math.abs(y - b.start));
    for (const i of near.slice(0, 400)) {
      const line = lines[i]!;
      if (line.trim().length < 8 || findMatches(lines, [line]).length < 2) continue;
      return { search: [line], replace: [`${line}  # changed`], state: b.state, expected: null, reason: 'ambiguous' };
    }
    return null;
  },
};

/** The ways a path line is written, rotated through the corpus so parsing is exercised too. */
const FRAMES: Array<(path: string) => string[]> = [
  (p) => [p, '```python'],
  (p) => ['```python', p],
  (p) => [`**${p}**`, '```'],
  (p) => [`\`${p}\``, '', '```py'],
  (p) => [`File: ${p}`, '```python'],
  (p) => ['```python', `# ${p}`],
];

/** An answer as a model writes it: a sentence of explanation, then the blocks. */
export function renderAnswer(blocks: Array<{ path: string; search: string[]; replace: string[] }>, seed: number, crlf = false): string {
  const out = ['The bug comes from the lines below; this changes them.', ''];
  blocks.forEach((b, i) => {
    out.push(
      ...FRAMES[(seed + i) % FRAMES.length]!(b.path),
      '<<<<<<< SEARCH',
      ...b.search,
      '=======',
      ...b.replace,
      '>>>>>>> REPLACE',
      '```',
      '',
    );
  });
  const text = out.join('\n');
  return crlf ? text.replace(/\n/g, '\r\n') : text;
}
