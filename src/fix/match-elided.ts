/**
 * SEARCH blocks with elided context: models shorten a long SEARCH with a `...` line (or `# ...`,
 * `// ...`) meaning "the lines in between, unchanged". The parts around each marker must place
 * in exactly one way, in order; the matching `...` in REPLACE keeps the skipped lines as they are.
 */
import {
  type Line,
  type LineMatch,
  describeLines,
  findMatches,
  isBlank,
  joinLines,
  replacementTexts,
  trimBlankEdges,
} from './match-lines.js';

/** A line that only says "lines left out here". */
const MARKER = /^\s*(?:\.\.\.|…|#\s*(?:\.\.\.|…)|\/\/\s*(?:\.\.\.|…)|\/\*\s*(?:\.\.\.|…)\s*\*\/|<!--\s*(?:\.\.\.|…)\s*-->)\s*$/;

export const isElisionMarker = (line: string): boolean => MARKER.test(line);

export type ElidedResult =
  | { ok: true; start: number; end: number; replacement: Line[] }
  | { ok: false; reason: 'not_found' | 'ambiguous' | 'elision' | 'reindent'; message: string };

/** At most this many `...` lines in SEARCH: each one doubles the readings to try. */
const MAX_MARKERS = 6;
/** Readings tried at most, SEARCH and REPLACE choices together. */
const MAX_READINGS = 128;

type Failure = Extract<ElidedResult, { ok: false }>;

const markerLines = (lines: readonly string[]) => [...lines.keys()].filter((i) => isElisionMarker(lines[i]!));

/** Every subset of `items` (at most MAX_MARKERS of them), smallest first. */
function subsets(items: number[]): number[][] {
  const out: number[][] = [];
  for (let mask = 0; mask < 1 << items.length; mask++) out.push(items.filter((_, i) => mask & (1 << i)));
  return out.sort((a, b) => a.length - b.length);
}

/** The k-element subsets of `items`, lazily: REPLACE may hold many `...` lines of its own (stubs). */
function* combinations(items: number[], k: number, from = 0): Generator<number[]> {
  if (k === 0) {
    yield [];
    return;
  }
  for (let i = from; i <= items.length - k; i++) {
    for (const rest of combinations(items, k - 1, i + 1)) yield [items[i]!, ...rest];
  }
}

function splitAt(lines: readonly string[], at: number[]): string[][] {
  const parts: string[][] = [[]];
  lines.forEach((line, i) => {
    if (at.includes(i)) parts.push([]);
    else parts[parts.length - 1]!.push(line);
  });
  return parts;
}

const allBlank = (lines: readonly string[]) => lines.every(isBlank);

/**
 * Places an elided SEARCH in the file and builds its replacement: REPLACE's parts, re-indented,
 * with the file's own lines kept wherever REPLACE has a marker. A `...` line may also be code
 * (Python's Ellipsis, a doctest prompt), so each reading of which lines are markers is tried;
 * the edit applies only when every reading that fits gives the same result.
 */
export function matchElided(file: readonly Line[], search: string[], replace: string[], eol: Line['eol']): ElidedResult {
  const sMarks = markerLines(search);
  const rMarks = markerLines(replace);
  if (sMarks.length > MAX_MARKERS) {
    return { ok: false, reason: 'elision', message: `SEARCH has more than ${MAX_MARKERS} \`...\` lines; quote the lines in full` };
  }
  // One array for the whole search: findMatches caches its index of the file per array.
  const texts = file.map((l) => l.text);
  const results = new Map<string, Extract<ElidedResult, { ok: true }>>();
  const failures: Failure[] = [];
  let tried = 0;
  for (const a of subsets(sMarks)) {
    if (a.length === 0) continue;
    // REPLACE's markers are as many of its `...` lines written like the SEARCH lines read as
    // markers (any choice of them, when there are more), or all of them when they are as many.
    const written = new Set(a.map((i) => search[i]!.trim()));
    const alike = rMarks.filter((i) => written.has(replace[i]!.trim()));
    const readings = alike.length >= a.length ? combinations(alike, a.length) : rMarks.length === a.length ? [rMarks] : [];
    for (const b of readings) {
      if (++tried > MAX_READINGS)
        return {
          ok: false,
          reason: 'elision',
          message: 'it has too many `...` lines to tell code from left-out lines; quote the lines in full',
        };
      const r = interpret(file, texts, splitAt(search, a), splitAt(replace, b), eol);
      if (r.ok) results.set(`${r.start}:${r.end}:${joinLines(r.replacement)}`, r);
      else failures.push(r);
    }
  }
  const ambiguous = failures.find((f) => f.reason === 'ambiguous');
  if (results.size === 1 && !ambiguous) return [...results.values()][0]!;
  if (results.size > 0) {
    return {
      ok: false,
      reason: 'ambiguous',
      message:
        'its `...` lines can be read more than one way (as code that is in the file, or as lines left out) with different results; quote those lines in full',
    };
  }
  if (ambiguous) return ambiguous;
  if (failures.length === 0) {
    return {
      ok: false,
      reason: 'elision',
      message: `SEARCH leaves lines out with \`...\` ${sMarks.length} time(s) but REPLACE ${rMarks.length} time(s); put \`...\` in REPLACE at the same places to keep those lines, or quote them in full`,
    };
  }
  return failures[failures.length - 1]!;
}

/** One reading: SEARCH and REPLACE split at the lines taken as markers, equally many on each side. */
function interpret(file: readonly Line[], texts: readonly string[], parts: string[][], rParts: string[][], eol: Line['eol']): ElidedResult {
  // A marker at either end means "and more around it": nothing to match, nothing to keep.
  if (allBlank(parts[0]!) && allBlank(rParts[0]!)) [parts, rParts] = [parts.slice(1), rParts.slice(1)];
  if (parts.length > 0 && allBlank(parts[parts.length - 1]!) && allBlank(rParts[rParts.length - 1]!)) {
    [parts, rParts] = [parts.slice(0, -1), rParts.slice(0, -1)];
  }
  if (parts.length === 0 || parts.some(allBlank)) {
    return {
      ok: false,
      reason: 'elision',
      message:
        'every `...` in SEARCH needs real lines from the file on both sides of it (REPLACE cannot add lines next to an elided start or end)',
    };
  }
  // Blank lines next to a marker are often the model's own spacing; the elided run absorbs them,
  // but only when the parts as written do not place.
  let pairs = parts.map((p, i) => ({ search: p, replace: rParts[i]! }));
  let placed = place(texts, pairs);
  if (placed.count === 0) {
    pairs = parts.map((p, i) => trimBlankEdges(p, rParts[i]!));
    placed = place(texts, pairs);
  }
  if (typeof placed.missing === 'number') {
    return {
      ok: false,
      reason: 'not_found',
      message: `SEARCH text not found: its part ${describePart(placed.missing, parts.length)} is not in the file`,
    };
  }
  if (placed.count === 0) {
    return {
      ok: false,
      reason: 'not_found',
      message: 'SEARCH text not found: its parts around `...` are in the file but not in that order (or not at the same indentation)',
    };
  }
  if (!placed.placement) {
    return {
      ok: false,
      reason: 'ambiguous',
      message: `the parts of SEARCH around \`...\` fit the file in more than one way (starting at ${describeLines([...new Set(placed.starts)])}); add surrounding lines to make each part unique`,
    };
  }
  const chosen = placed.placement;
  const replacement: Line[] = [];
  for (let i = 0; i < chosen.length; i++) {
    const m = chosen[i]!;
    const lines = replacementTexts(texts, m, pairs[i]!.search, pairs[i]!.replace);
    if (!lines) return { ok: false, reason: 'reindent', message: reindentMessage() };
    replacement.push(...lines.map((text) => ({ text, eol })));
    const next = chosen[i + 1];
    if (next) replacement.push(...file.slice(m.start + m.length, next.start));
  }
  const last = chosen[chosen.length - 1]!;
  return { ok: true, start: chosen[0]!.start, end: last.start + last.length, replacement };
}

function place(texts: readonly string[], parts: Array<{ search: string[] }>): ReturnType<typeof placeInOrder> & { missing?: number } {
  const candidates = parts.map((p) => findMatches(texts, p.search));
  const missing = candidates.findIndex((c) => c.length === 0 && !c.incomplete);
  if (missing >= 0) return { count: 0, starts: [], placement: null, missing };
  // A part found in too many places cannot be placed with certainty, whatever the others do.
  const crowded = candidates.find((c) => c.incomplete);
  if (crowded) return { count: 2, starts: crowded.map((m) => m.start), placement: null };
  return placeInOrder(candidates);
}

function describePart(i: number, count: number): string {
  if (i === 0) return 'before the first `...`';
  if (i === count - 1) return 'after the last `...`';
  return `between \`...\` number ${i} and ${i + 1}`;
}

export function reindentMessage(): string {
  return "SEARCH matched only with different indentation, and REPLACE has lines indented less than that difference, so they cannot be re-indented; quote SEARCH with the file's exact indentation";
}

/**
 * Ways to place every part after the previous one, all at the same indentation offset: counted
 * (capped at two, enough to refuse) by dynamic programming so hostile answers with many markers
 * stay linear, and returned as the first-part starts plus the single placement when unique.
 */
function placeInOrder(candidates: LineMatch[][]): { count: number; starts: number[]; placement: LineMatch[] | null } {
  const key = (m: LineMatch) => `${m.indent.add}|${m.indent.remove}`;
  let count = 0;
  const starts: number[] = [];
  let placement: LineMatch[] | null = null;
  for (const offset of new Set(candidates[0]!.map(key))) {
    const lists = candidates.map((c) => c.filter((m) => key(m) === offset));
    // ways[i][k]: placements of parts i.. with part i at lists[i][k]; suffix sums make each step linear.
    const ways: number[][] = lists.map((l) => l.map(() => 0));
    const suffix: number[][] = lists.map((l) => new Array<number>(l.length + 1).fill(0));
    const firstFrom = (i: number, line: number) => {
      let [lo, hi] = [0, lists[i]!.length];
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (lists[i]![mid]!.start < line) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    for (let i = lists.length - 1; i >= 0; i--) {
      for (let k = lists[i]!.length - 1; k >= 0; k--) {
        const m = lists[i]![k]!;
        ways[i]![k] = i === lists.length - 1 ? 1 : suffix[i + 1]![firstFrom(i + 1, m.start + m.length)]!;
        suffix[i]![k] = Math.min(2, suffix[i]![k + 1]! + ways[i]![k]!);
      }
    }
    lists[0]!.forEach((m, k) => {
      if (ways[0]![k]! > 0) starts.push(m.start);
    });
    count = Math.min(2, count + suffix[0]![0]!);
    if (count === 1 && suffix[0]![0] === 1) {
      placement = [];
      let line = 0;
      for (let i = 0; i < lists.length; i++) {
        const k = lists[i]!.findIndex((m, j) => m.start >= line && ways[i]![j]! > 0);
        placement.push(lists[i]![k]!);
        line = lists[i]![k]!.start + lists[i]![k]!.length;
      }
    }
  }
  return { count, starts: starts.sort((a, b) => a - b), placement: count === 1 ? placement : null };
}
