/** A pattern that is not a glob Kodah can match (an unclosed `[` when strict, too many alternatives). */
export class GlobError extends Error {}

export interface GlobOptions {
  /** A pattern without "/" matches the last segment of a path (`*.py` matches `src/a.py`). */
  basename?: boolean;
  /** An unclosed `[` is an error instead of a literal bracket. */
  strict?: boolean;
}

/** `{a,b}` alternatives one pattern may expand to. */
const MAX_ALTERNATIVES = 256;

type Token = { star: true } | { star: false; test: (c: string) => boolean };

/**
 * A glob matcher that takes time in proportion to the pattern times the path, whatever either
 * holds. Globs come from the model's tool calls and from API users' search filters: picomatch
 * and minimatch compile them to regular expressions, and one like `*a*a*a*a*a*a*a*ab` took 21 s
 * against a 60-character path (longer ones, for ever), stopping the whole process. Here `*`,
 * `?` and `[…]` are matched within a segment and `**` across segments with the classic
 * wildcard algorithm: on a mismatch it returns to the last star only, so it never backtracks
 * further. Supported: `*`, `**`, `?`, `[abc]`, `[a-z]`, `[!a]`/`[^a]`, `{a,b}` (nested), `\` to
 * escape; dot files match like any other.
 */
export function globMatcher(pattern: string, options: GlobOptions = {}): (path: string) => boolean {
  const alternatives = expandBraces(pattern.replace(/^(\.\/)+/, '')).map((p) => {
    const segments = p.split('/').filter((s, i, all) => s !== '' || i === all.length - 1);
    return segments.map((s) => (s === '**' ? null : tokenize(s, options.strict ?? false)));
  });
  const onName = (options.basename ?? false) && !pattern.includes('/');
  return (path) => {
    const parts = path.replace(/^(\.\/)+/, '').split('/');
    const segments = onName ? [parts.at(-1)!] : parts;
    return alternatives.some((alt) => matchSegments(alt, segments));
  };
}

/** `**` (null) matches any number of segments; each other element exactly one. */
function matchSegments(pattern: Array<Token[] | null>, segments: string[]): boolean {
  return wildcard(
    pattern.length,
    segments.length,
    (p) => pattern[p] === null,
    (p, s) => matchSegment(pattern[p]!, segments[s]!),
  );
}

function matchSegment(tokens: Token[], name: string): boolean {
  return wildcard(
    tokens.length,
    name.length,
    (p) => tokens[p]!.star,
    (p, s) => (tokens[p] as Extract<Token, { star: false }>).test(name[s]!),
  );
}

/**
 * Whether a pattern of `patternLength` elements matches `length` units, where a star element
 * matches any run of units and every other element exactly one: greedy, returning to the last
 * star on a mismatch. O(pattern × units) at worst.
 */
function wildcard(
  patternLength: number,
  length: number,
  isStar: (p: number) => boolean,
  matches: (p: number, s: number) => boolean,
): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < length) {
    if (p < patternLength && isStar(p)) {
      starP = p++;
      starS = s;
    } else if (p < patternLength && matches(p, s)) {
      p++;
      s++;
    } else if (starP >= 0) {
      p = starP + 1;
      s = ++starS;
    } else return false;
  }
  while (p < patternLength && isStar(p)) p++;
  return p === patternLength;
}

/** One segment's tokens: runs of `*` are one star; `?` any character; `[…]` a class. */
function tokenize(segment: string, strict: boolean): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') {
      if (!tokens.at(-1)?.star) tokens.push({ star: true });
    } else if (c === '?') tokens.push({ star: false, test: () => true });
    else if (c === '\\' && i + 1 < segment.length) {
      const literal = segment[++i]!;
      tokens.push({ star: false, test: (x) => x === literal });
    } else if (c === '[') {
      const parsed = bracket(segment, i);
      if (parsed) {
        tokens.push({ star: false, test: parsed.test });
        i = parsed.end;
      } else if (strict) throw new GlobError(`unclosed "[" at ${i + 1}`);
      else tokens.push({ star: false, test: (x) => x === '[' });
    } else tokens.push({ star: false, test: (x) => x === c });
  }
  return tokens;
}

/** The class that opens at `start`, and where it closes; null when it never does. */
function bracket(segment: string, start: number): { test: (c: string) => boolean; end: number } | null {
  let i = start + 1;
  const negated = segment[i] === '!' || segment[i] === '^';
  if (negated) i++;
  const ranges: Array<[string, string]> = [];
  // A "]" first is a member, not the end.
  for (let first = true; i < segment.length; first = false) {
    let c = segment[i]!;
    if (c === ']' && !first) {
      const test = (x: string) => ranges.some(([a, b]) => a <= x && x <= b) !== negated;
      return { test, end: i };
    }
    if (c === '\\' && i + 1 < segment.length) c = segment[++i]!;
    if (segment[i + 1] === '-' && i + 2 < segment.length && segment[i + 2] !== ']') {
      ranges.push([c, segment[i + 2]!]);
      i += 3;
    } else {
      ranges.push([c, c]);
      i++;
    }
  }
  return null;
}

/** `{a,b}c` → `ac`, `bc`, nested braces too; a brace without a comma is literal. */
function expandBraces(pattern: string): string[] {
  let out = [pattern];
  for (;;) {
    const next: string[] = [];
    let changed = false;
    for (const p of out) {
      const group = firstGroup(p);
      if (!group) {
        next.push(p);
        continue;
      }
      changed = true;
      for (const option of group.options) next.push(p.slice(0, group.start) + option + p.slice(group.end + 1));
    }
    if (next.length > MAX_ALTERNATIVES) throw new GlobError(`more than ${MAX_ALTERNATIVES} {…} alternatives`);
    out = next;
    if (!changed) return out;
  }
}

/** The first `{…}` holding a top-level comma: its bounds and options. */
function firstGroup(p: string): { start: number; end: number; options: string[] } | null {
  for (let start = 0; start < p.length; start++) {
    if (p[start] === '\\') {
      start++;
      continue;
    }
    if (p[start] !== '{') continue;
    let depth = 0;
    const commas: number[] = [];
    for (let i = start; i < p.length; i++) {
      if (p[i] === '\\') {
        i++;
        continue;
      }
      if (p[i] === '{') depth++;
      else if (p[i] === '}' && --depth === 0) {
        if (!commas.length) break;
        const bounds = [start, ...commas, i];
        return { start, end: i, options: bounds.slice(1).map((b, k) => p.slice(bounds[k]! + 1, b)) };
      } else if (p[i] === ',' && depth === 1) commas.push(i);
    }
  }
  return null;
}
