import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Localization } from '../localize/localize.js';
import { estimateTokens } from '../llm/count-tokens.js';
import { preludeOf } from '../localize/module-prelude.js';

export interface CodeContext {
  /** Markdown: one section per file, numbered lines in fences. */
  text: string;
  /** The files shown, best first. */
  files: string[];
  tokens: number;
}

/** A file this short is shown whole: the model sees imports, helpers and callers together. */
export const WHOLE_FILE_LINES = 400;
/** Lines shown around a snippet, so an edit's SEARCH has context to be unique. */
export const MARGIN = 3;
/** The localized files packed at most, best first. */
export const MAX_FILES = 8;
/** The long files, best first, whose prelude (imports, module tables) is shown beside their functions. */
export const PRELUDE_FILES = 3;
/** The longest prelude shown, in lines. */
export const PRELUDE_LINES = 80;
/**
 * How much a function's length lowers its place in the second pass: score / (20 + lines)^0.3.
 * A 300-line function costs the budget of ten 30-line ones, so it goes first only when it scores
 * about 1.75 times as well: at equal scores more candidates are shown, and a clearly better long
 * one still wins.
 */
const LENGTH_DISCOUNT = 0.3;

/** The row that stands for lines left out of a view. */
const GAP = '⋮';

function fenced(file: string, lines: string[], ranges: Array<[number, number]>, total: number, reasons: string[]): string {
  const language = path.extname(file).slice(1) || 'text';
  // Each line as `cat -n` shows it, number and tab: " | " after padded numbers cost a third more
  // tokens than the code itself (o200k_base, 1,500 lines of sympy), a tab about a sixth. One "⋮"
  // row for each run of lines left out: before the first range, between ranges, after the last.
  const parts = ranges.map(([start, end], i) => {
    const body = lines.slice(start - 1, end).map((line, k) => `${start + k}\t${line}`);
    return `${i === 0 && start > 1 ? `${GAP}\n` : ''}${body.join('\n')}${end < total ? `\n${GAP}` : ''}`;
  });
  const shown =
    ranges.length === 1 && ranges[0]![0] === 1 && ranges[0]![1] === total
      ? `all ${total} lines`
      : `lines ${ranges.map(([a, b]) => `${a}-${b}`).join(', ')} of ${total}`;
  const why = reasons.length ? `\nWhy: ${reasons.slice(0, 3).join('; ')}` : '';
  return `### ${file} (${shown})${why}\n\`\`\`${language}\n${parts.join('\n')}\n\`\`\``;
}

/** Sorted, merged ranges. */
function merge(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** What the fix asks the localizer for: the files, and enough of their functions to fill the budget. */
export const CONTEXT_LOCALIZE = { files: 10, snippets: 500 } as const;

interface Packed {
  file: Localization['files'][number];
  lines: string[];
  ranges: Array<[number, number]>;
  tokens: number;
}

/**
 * Packs the localized code into a token budget, in two passes. First each of the best files gets
 * its smallest useful view, best file first: a short file whole, a long one its best function or
 * class with a few lines around (or its head when it has none); the best long files add their
 * prelude. Then what is left of the budget goes to the next-ranked functions across files, the
 * localizer's score lightly discounted by length, added to their file's view while they fit: a
 * long file's second and third candidates are often where the fix is. Line numbers are always
 * shown (the model cites them; they are never part of an edit).
 */
export async function buildContext(worktree: string, localized: Localization, budgetTokens: number): Promise<CodeContext> {
  const packed: Packed[] = [];
  let tokens = 0;
  const cost = (p: Omit<Packed, 'tokens'>) => estimateTokens(fenced(p.file.path, p.lines, p.ranges, p.lines.length, p.file.reasons));
  const around = (s: { startLine: number; endLine: number }, total: number): [number, number] => [
    Math.max(1, s.startLine - MARGIN),
    Math.min(total, s.endLine + MARGIN),
  ];

  for (const file of localized.files.slice(0, MAX_FILES)) {
    const content = await readFile(path.join(worktree, file.path), 'utf8').catch(() => null);
    if (content === null || content.includes('\0')) continue;
    const lines = content.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const best = localized.snippets.find((s) => s.path === file.path);
    const candidates: Array<Array<[number, number]>> = [];
    if (lines.length <= WHOLE_FILE_LINES) candidates.push([[1, lines.length]]);
    if (best) candidates.push([around(best, lines.length)]);
    else if (lines.length > WHOLE_FILE_LINES) candidates.push([[1, Math.min(lines.length, 120)]]);
    for (const ranges of candidates) {
      const p = { file, lines, ranges };
      const c = cost(p);
      if (tokens + c > budgetTokens) continue;
      packed.push({ ...p, tokens: c });
      tokens += c;
      break;
    }
    if (tokens >= budgetTokens * 0.95) break;
  }

  const widen = (p: Packed, range: [number, number]) => {
    if (p.ranges.some(([a, b]) => a <= range[0] && range[1] <= b)) return;
    const ranges = merge([...p.ranges, range]);
    const c = cost({ ...p, ranges });
    if (tokens - p.tokens + c > budgetTokens) return;
    tokens += c - p.tokens;
    p.ranges = ranges;
    p.tokens = c;
  };

  // A fix in a long file often adds an import or an entry of a module-level table, which a view
  // cut to its functions hides: the best long files show their prelude first.
  for (const p of packed.filter((x) => x.lines.length > WHOLE_FILE_LINES).slice(0, PRELUDE_FILES)) {
    const prelude = preludeOf(p.lines, PRELUDE_LINES);
    if (prelude) widen(p, prelude);
  }

  const value = (s: { score: number; startLine: number; endLine: number }) => s.score / (20 + s.endLine - s.startLine) ** LENGTH_DISCOUNT;
  for (const snippet of [...localized.snippets].sort((a, b) => value(b) - value(a))) {
    const p = packed.find((x) => x.file.path === snippet.path);
    if (p) widen(p, around(snippet, p.lines.length));
  }

  const sections = packed.map((p) => fenced(p.file.path, p.lines, p.ranges, p.lines.length, p.file.reasons));
  return { text: sections.join('\n\n'), files: packed.map((p) => p.file.path), tokens };
}
