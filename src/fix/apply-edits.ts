/**
 * The apply stage: SEARCH/REPLACE edits onto file contents, in memory. Exact first, then tolerant
 * of the whitespace slips models make (trailing spaces, a uniformly shifted block, stray blank
 * lines, CRLF, elided context), and never a guess: a SEARCH that fits more than one place at any
 * tolerance is refused with the places listed, so the model can add context and try again.
 */
import { describeMiss } from './describe-miss.js';
import { isElisionMarker, matchElided, reindentMessage } from './match-elided.js';
import {
  type Line,
  type LineMatch,
  describeLines,
  dominantEol,
  editLines,
  findMatches,
  isBlank,
  joinLines,
  replacementTexts,
  splitLines,
  trimBlankEdges,
  blankEdges,
} from './match-lines.js';
import type { Edit } from './parse-edits.js';

/** How an edit found its place: verbatim, ignoring whitespace, re-indented, around `...`, or by creating the file. */
export type AppliedHow = 'exact' | 'whitespace' | 'indent' | 'elided' | 'created';

export interface AppliedEdit {
  index: number;
  path: string;
  how: AppliedHow;
  /** First line (1-based) the edit replaced, in the file as it was when the edit applied. */
  line: number;
}

export type FailureReason = 'not_found' | 'ambiguous' | 'missing_file' | 'empty_search' | 'elision' | 'reindent';

export interface EditFailure {
  index: number;
  path: string;
  reason: FailureReason;
  /** A complete sentence naming the block and its file, fit to send back to the model. */
  message: string;
}

export interface ApplyOutcome {
  /** New contents of the files the applied edits changed or created. */
  files: Map<string, string>;
  applied: AppliedEdit[];
  failures: EditFailure[];
}

type Step = { ok: true; content: string; how: AppliedHow; line: number } | { ok: false; reason: FailureReason; message: string };

/**
 * Applies edits in order, each against its file as the earlier edits left it. Pure: `files` holds
 * the current contents (null: the file does not exist); a failed edit changes nothing and is
 * reported, and the edits after it still apply.
 */
export function applyEdits(files: ReadonlyMap<string, string | null>, edits: readonly Edit[]): ApplyOutcome {
  const current = new Map<string, string | null>();
  const applied: AppliedEdit[] = [];
  const failures: EditFailure[] = [];
  for (const edit of edits) {
    const before = current.has(edit.path) ? current.get(edit.path)! : (files.get(edit.path) ?? null);
    const step = applyEdit(before, edit);
    if (step.ok) {
      current.set(edit.path, step.content);
      applied.push({ index: edit.index, path: edit.path, how: step.how, line: step.line });
    } else {
      const message = `Edit block ${edit.index + 1} (${edit.path}): ${step.message}`;
      failures.push({ index: edit.index, path: edit.path, reason: step.reason, message });
    }
  }
  const changed = new Map<string, string>();
  for (const [path, content] of current) {
    if (content !== null && content !== (files.get(path) ?? null)) changed.set(path, content);
  }
  return { files: changed, applied, failures };
}

const BOM = '\uFEFF';

function applyEdit(content: string | null, edit: Edit): Step {
  // A byte-order mark is invisible to the model: match without it, keep it in the file.
  if (content?.startsWith(BOM)) {
    const step = applyEdit(content.slice(1), edit);
    return step.ok ? { ...step, content: BOM + step.content } : step;
  }
  const search = editLines(edit.search);
  const replace = editLines(edit.replace);
  if (search.every(isBlank)) return createOrFill(content, replace);
  if (content === null) {
    return { ok: false, reason: 'missing_file', message: 'file does not exist; to create a new file, leave SEARCH empty' };
  }
  const lines = splitLines(content);
  const texts = lines.map((l) => l.text);
  const eol = dominantEol(lines);

  const found = locate(texts, search, replace);
  if (found.status === 'many') return ambiguous(found.matches, found.incomplete);
  if (found.status === 'one') {
    const { match } = found;
    const newTexts = replacementTexts(texts, match, found.search, found.replace);
    if (!newTexts) return { ok: false, reason: 'reindent', message: reindentMessage() };
    const how: AppliedHow = found.search.length < search.length && match.kind === 'exact' ? 'whitespace' : match.kind;
    const replacement = newTexts.map((text) => ({ text, eol }));
    return splice(lines, match.start, match.start + match.length, replacement, how);
  }
  if (search.some(isElisionMarker)) {
    const elided = matchElided(lines, search, replace, eol);
    if (elided.ok) return splice(lines, elided.start, elided.end, elided.replacement, 'elided');
    // `...` lines the file itself has (doctest continuations, stubs) were meant literally: the
    // SEARCH is simply stale, and the near-miss hint says more than the elision rules would.
    const literal = search.filter(isElisionMarker).every((m) => texts.some((t) => t.trim() === m.trim()));
    if (!(literal && elided.reason === 'elision')) return elided;
  }
  return { ok: false, reason: 'not_found', message: `SEARCH text not found.${describeMiss(texts, search)}` };
}

type Located =
  | { status: 'one'; match: LineMatch; search: string[]; replace: string[] }
  | { status: 'many'; matches: LineMatch[]; incomplete: boolean }
  | { status: 'none' };

/**
 * The one place SEARCH fits, as written or, failing that, without blank lines at its edges that
 * the file does not have: as few as possible dropped, so blank context the model quoted right
 * still counts toward making SEARCH unique.
 */
function locate(file: readonly string[], search: string[], replace: string[]): Located {
  const edges = blankEdges(search);
  for (let dropped = 0; dropped <= edges.lead + edges.tail; dropped++) {
    const tries: Array<{ match: LineMatch; search: string[]; replace: string[] }> = [];
    let incomplete = false;
    for (let lead = Math.max(0, dropped - edges.tail); lead <= Math.min(dropped, edges.lead); lead++) {
      const trimmed = trimBlankEdges(search, replace, lead, dropped - lead);
      if (trimmed.search.length === 0) continue;
      const matches = findMatches(file, trimmed.search);
      incomplete ||= matches.incomplete === true;
      for (const match of matches) tries.push({ match, ...trimmed });
    }
    if (incomplete) return { status: 'many', matches: tries.map((t) => t.match), incomplete };
    // Two trims can find the same place (one blank line kept before, or after): one place, not two.
    const byPlace = new Map(tries.map((t) => [t.match.start + blankEdges(t.search).lead, t]));
    if (byPlace.size === 1) return { status: 'one', ...tries[0]! };
    if (byPlace.size > 1) return { status: 'many', matches: [...byPlace.values()].map((t) => t.match), incomplete };
  }
  return { status: 'none' };
}

function ambiguous(matches: LineMatch[], incomplete: boolean): Step {
  const loose = matches.some((m) => m.kind !== 'exact') ? ', counting places that differ only in whitespace or indentation' : '';
  const places = incomplete
    ? `too many places to list${matches.length ? ` (${describeLines(matches.map((m) => m.start))}${loose}, …)` : ''}`
    : `${matches.length} places (${describeLines(matches.map((m) => m.start))}${loose})`;
  return { ok: false, reason: 'ambiguous', message: `SEARCH text matches ${places}; add surrounding lines to make it unique` };
}

/** An empty SEARCH makes a file: a new one, or content for one that is empty. */
function createOrFill(content: string | null, replace: string[]): Step {
  if (content !== null && content.trim() !== '') {
    return {
      ok: false,
      reason: 'empty_search',
      message: 'empty SEARCH only creates new files, and this file already exists; quote the lines to change in SEARCH',
    };
  }
  const eol = content ? dominantEol(splitLines(content)) : '\n';
  return { ok: true, content: replace.map((l) => l + eol).join(''), how: 'created', line: 1 };
}

function splice(lines: Line[], start: number, end: number, replacement: Line[], how: AppliedHow): Step {
  const next = [...lines.slice(0, start), ...replacement, ...lines.slice(end)];
  // A file that did not end with a line break still does not: the format cannot say otherwise.
  if (lines.length > 0 && lines[lines.length - 1]!.eol === '' && next.length > 0) {
    next[next.length - 1] = { ...next[next.length - 1]!, eol: '' };
  }
  return { ok: true, content: joinLines(next), how, line: start + 1 };
}
