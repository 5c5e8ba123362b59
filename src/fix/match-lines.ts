/**
 * Line-level matching of a SEARCH text against a file, the tolerant way models need: trailing
 * whitespace ignored, and a uniform indentation offset allowed (a model often re-indents a quoted
 * block, or drops its common indentation). Pure helpers; apply-edits.ts decides what to do with
 * the matches.
 */

/** One line of a file: its text without the line break, and the break it ended with. */
export interface Line {
  text: string;
  eol: '' | '\n' | '\r\n';
}

/**
 * How SEARCH lines relate to the file's lines: the file has `add` more leading whitespace on every
 * non-blank line, or SEARCH has `remove` more. At most one of the two is non-empty.
 */
export interface Indent {
  add: string;
  remove: string;
}

export type MatchKind = 'exact' | 'whitespace' | 'indent';

/** A place SEARCH matches: its first line (0-based) and how loosely it matched. */
export interface LineMatch {
  start: number;
  length: number;
  kind: MatchKind;
  indent: Indent;
}

const NO_INDENT: Indent = Object.freeze({ add: '', remove: '' });

export const isBlank = (text: string): boolean => text.trim() === '';

/** Indentation is spaces and tabs only: trim() also eats a BOM or a no-break space, which are text. */
const isIndent = (text: string): boolean => /^[ \t]*$/.test(text);

/** Splits file content into lines, keeping each line's own break so mixed files survive. */
export function splitLines(content: string): Line[] {
  const lines: Line[] = [];
  let at = 0;
  while (at < content.length) {
    const nl = content.indexOf('\n', at);
    if (nl < 0) {
      lines.push({ text: content.slice(at), eol: '' });
      break;
    }
    const crlf = nl > at && content[nl - 1] === '\r';
    lines.push({ text: content.slice(at, crlf ? nl - 1 : nl), eol: crlf ? '\r\n' : '\n' });
    at = nl + 1;
  }
  return lines;
}

export function joinLines(lines: readonly Line[]): string {
  return lines.map((l) => l.text + l.eol).join('');
}

/** The break new lines get: CRLF only when the file mostly uses it. */
export function dominantEol(lines: readonly Line[]): '\n' | '\r\n' {
  let crlf = 0;
  let lf = 0;
  for (const l of lines) {
    if (l.eol === '\r\n') crlf++;
    else if (l.eol === '\n') lf++;
  }
  return crlf > lf ? '\r\n' : '\n';
}

/** The lines of a SEARCH or REPLACE text; CRLF from the answer counts as a plain break. */
export function editLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Whether SEARCH matches the file at `start`, and how; null when it does not. */
function matchAt(file: readonly string[], search: readonly string[], start: number): LineMatch | null {
  if (start + search.length > file.length) return null;
  let exact = true;
  let indent: Indent | null = null;
  for (let j = 0; j < search.length; j++) {
    const raw = file[start + j]!;
    if (raw !== search[j]) exact = false;
    const f = raw.trimEnd();
    const s = search[j]!.trimEnd();
    if (s === '' || f === '') {
      if (s !== f) return null;
      continue;
    }
    if (indent === null) {
      // The first non-blank line fixes the offset; every other line must agree with it.
      if (f.endsWith(s) && isIndent(f.slice(0, f.length - s.length))) indent = { add: f.slice(0, f.length - s.length), remove: '' };
      else if (s.endsWith(f) && isIndent(s.slice(0, s.length - f.length))) indent = { add: '', remove: s.slice(0, s.length - f.length) };
      else return null;
    } else if (indent.add ? f !== indent.add + s : s !== indent.remove + f) {
      return null;
    }
  }
  indent ??= NO_INDENT;
  const kind: MatchKind = exact ? 'exact' : indent.add || indent.remove ? 'indent' : 'whitespace';
  return { start, length: search.length, kind, indent };
}

/**
 * Places SEARCH matches. `incomplete` means the search stopped early (more than MAX_MATCHES places,
 * or too much work on a degenerate file): there are at least two places, never take it as one.
 */
export type Matches = LineMatch[] & { incomplete?: boolean };

/** Enough places to refuse and to list; more only cost time. */
const MAX_MATCHES = 100;
/** Line comparisons spent verifying candidates before giving up (a hostile file of identical lines). */
const WORK_BUDGET = 5_000_000;

/** Each distinct trimmed line of a file as a number, computed once per file version. */
const internCache = new WeakMap<readonly string[], { ids: Int32Array; dict: Map<string, number> }>();

function intern(file: readonly string[]): { ids: Int32Array; dict: Map<string, number> } {
  let cached = internCache.get(file);
  if (!cached) {
    const dict = new Map<string, number>();
    const ids = new Int32Array(file.length);
    file.forEach((line, i) => {
      const key = line.trim();
      let id = dict.get(key);
      if (id === undefined) dict.set(key, (id = dict.size));
      ids[i] = id;
    });
    internCache.set(file, (cached = { ids, dict }));
  }
  return cached;
}

/**
 * Every place SEARCH matches at any tolerance; callers refuse to pick when there is more than one.
 * Lines equal once trimmed is necessary at every tolerance, so candidates come from a linear
 * (Knuth–Morris–Pratt) scan over interned lines and only they get the full comparison.
 */
export function findMatches(file: readonly string[], search: readonly string[]): Matches {
  const matches: Matches = [];
  if (search.length === 0 || search.length > file.length) return matches;
  const { ids, dict } = intern(file);
  const pattern = search.map((s) => dict.get(s.trim()) ?? -1);
  if (pattern.includes(-1)) return matches;
  const fail = new Int32Array(pattern.length);
  for (let i = 1, k = 0; i < pattern.length; i++) {
    while (k > 0 && pattern[i] !== pattern[k]) k = fail[k - 1]!;
    if (pattern[i] === pattern[k]) k++;
    fail[i] = k;
  }
  let work = 0;
  for (let i = 0, k = 0; i < ids.length; i++) {
    while (k > 0 && ids[i] !== pattern[k]) k = fail[k - 1]!;
    if (ids[i] === pattern[k]) k++;
    if (k < pattern.length) continue;
    k = fail[k - 1]!;
    const m = matchAt(file, search, i - pattern.length + 1);
    work += pattern.length;
    if (m) matches.push(m);
    if (matches.length >= MAX_MATCHES || work > WORK_BUDGET) {
      matches.incomplete = true;
      break;
    }
  }
  return matches;
}

/** Shifts REPLACE lines by the match's offset; null when a line is less indented than the offset. */
function reindent(lines: readonly string[], indent: Indent): string[] | null {
  const out: string[] = [];
  for (const line of lines) {
    // Whitespace-only lines carry no indentation worth keeping in step; leave them as written.
    if (isBlank(line)) out.push(line);
    else if (indent.add) out.push(indent.add + line);
    else if (line.startsWith(indent.remove)) out.push(line.slice(indent.remove.length));
    else return null;
  }
  return out;
}

/**
 * REPLACE lines as the file should get them. A line the model carried over unchanged from SEARCH
 * keeps the file's own text (its trailing whitespace, its indentation); the others are re-indented
 * by the match's offset. Carried-over lines are paired by position at both ends of the block (its
 * context), elsewhere only when the same non-blank SEARCH text stands for one file text. Null
 * when re-indenting is impossible.
 */
export function replacementTexts(
  file: readonly string[],
  match: LineMatch,
  search: readonly string[],
  replace: readonly string[],
): string[] | null {
  if (match.kind === 'exact') return [...replace];
  const shifted = reindent(replace, match.indent);
  if (!shifted) return null;
  let prefix = 0;
  while (prefix < search.length && prefix < replace.length && search[prefix] === replace[prefix]) prefix++;
  let suffix = 0;
  const room = Math.min(search.length, replace.length) - prefix;
  while (suffix < room && search[search.length - 1 - suffix] === replace[replace.length - 1 - suffix]) suffix++;
  return replace.map((r, i) => {
    if (i < prefix) return file[match.start + i]!;
    if (i >= replace.length - suffix) return file[match.start + search.length - (replace.length - i)]!;
    // Blank lines are too common (and too often the changed ones) to pair by their text.
    if (isBlank(r)) return shifted[i]!;
    const originals = new Set<string>();
    search.forEach((s, j) => {
      if (s === r) originals.add(file[match.start + j]!);
    });
    return originals.size === 1 ? [...originals][0]! : shifted[i]!;
  });
}

/** Blank lines at the start and at the end of a text. */
export function blankEdges(lines: readonly string[]): { lead: number; tail: number } {
  let lead = 0;
  while (lead < lines.length && isBlank(lines[lead]!)) lead++;
  let tail = 0;
  while (tail < lines.length - lead && isBlank(lines[lines.length - 1 - tail]!)) tail++;
  return { lead, tail };
}

/**
 * Drops `lead` blank lines from the start of SEARCH and `tail` from its end (all of them by
 * default), and as many of REPLACE's own blank edge lines, since the model typed both alike.
 */
export function trimBlankEdges(search: string[], replace: string[], lead?: number, tail?: number): { search: string[]; replace: string[] } {
  const s = blankEdges(search);
  const r = blankEdges(replace);
  const [sl, st] = [lead ?? s.lead, tail ?? s.tail];
  const rl = Math.min(sl, r.lead);
  // An all-blank REPLACE (a deletion) has blanks at both ends: count its tail after the leading cut.
  const rest = replace.length - rl;
  const rt = Math.min(st, r.lead === replace.length ? rest : r.tail);
  return { search: search.slice(sl, search.length - st), replace: replace.slice(rl, replace.length - rt) };
}

/** "lines 10 and 40" / "lines 3, 9, 12 and 2 more" for failure messages (1-based). */
export function describeLines(starts: readonly number[]): string {
  const sorted = [...new Set(starts)].sort((a, b) => a - b);
  const shown = sorted.slice(0, 3).map((s) => String(s + 1));
  if (sorted.length > 3) return `lines ${shown.join(', ')} and ${sorted.length - 3} more`;
  if (shown.length === 1) return `line ${shown[0]}`;
  return `lines ${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}
