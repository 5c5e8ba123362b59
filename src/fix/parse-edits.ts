/**
 * Reads the model's answer: a short explanation and SEARCH/REPLACE edit blocks (the aider form).
 * Tolerant of how models really write them (fences, decorated path lines, 5–9 marker characters,
 * CRLF), strict about structure: a block that is not complete is reported, never guessed at.
 */
import { KodahError } from '../lib/errors.js';
import { checkEditPath, pathFromLine } from './edit-path.js';

/** One edit block: replace `search` (whole lines, `\n`-terminated; empty creates) in `path`. */
export interface Edit {
  path: string;
  search: string;
  replace: string;
  /** Position of the block in the answer, from 0. */
  index: number;
}

/** The answer could not be read as edit blocks; the message says what to fix and is fit for the model. */
export class EditFormatError extends KodahError {
  readonly problems: readonly string[];

  constructor(problems: string[]) {
    super('job_failed', formatMessage(problems), { kind: 'input' });
    this.name = 'EditFormatError';
    this.problems = problems;
  }
}

function formatMessage(problems: string[]): string {
  return (
    `The edit blocks could not be read:\n${problems.map((p) => `- ${p}`).join('\n')}\n` +
    'Write each edit as the file path on its own line, then `<<<<<<< SEARCH`, the current lines, ' +
    '`=======`, the new lines, and `>>>>>>> REPLACE`.'
  );
}

const SEARCH = /^<{5,9}\s*SEARCH\s*$/i;
const DIVIDER = /^(={5,9})\s*$/;
const REPLACE = /^>{5,9}\s*REPLACE\s*$/i;
/** Near misses of a marker (wrong count, indented), reported rather than silently treated as text. */
const LOOKS_LIKE_MARKER = /^\s*(?:<{3,}\s*SEARCH|>{3,}\s*REPLACE)\b/i;
const FENCE = /^\s*(?:`{3,}|~{3,})/;

interface BlockPath {
  path?: string;
  problem?: string;
  /** Lines that belong to the block's framing (path line, opening fence), not the explanation. */
  framing: number[];
}

/**
 * Splits an answer into its explanation (the prose outside the blocks) and its edits, in order.
 * Throws EditFormatError listing every problem found; an answer without any block has no edits.
 */
export function parseEdits(text: string): { explanation: string; edits: Edit[] } {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const framing = new Set<number>();
  const problems: string[] = [];
  const edits: Edit[] = [];
  let prevEnd = -1;
  let prevPath: string | undefined;
  let block = 0;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!SEARCH.test(line)) {
      if (LOOKS_LIKE_MARKER.test(line) || REPLACE.test(line)) {
        problems.push(
          `line ${i + 1} (\`${line.trim()}\`) looks like a block marker but is not part of a complete block; markers stand alone at the start of a line, in the order SEARCH, =======, REPLACE`,
        );
      }
      continue;
    }
    block++;
    const where = findPath(lines, i, prevEnd, prevPath);
    const label = `block ${block}${where.path ? ` (${where.path})` : ''}`;
    where.framing.forEach((n) => framing.add(n));

    const dividers: number[] = [];
    let end = -1;
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (REPLACE.test(lines[j]!)) {
        end = j;
        break;
      }
      if (SEARCH.test(lines[j]!)) break;
      if (DIVIDER.test(lines[j]!)) dividers.push(j);
    }
    if (end < 0) {
      problems.push(
        j < lines.length
          ? `${label}: a new \`<<<<<<< SEARCH\` starts at line ${j + 1} before this block's \`>>>>>>> REPLACE\``
          : `${label}: no \`>>>>>>> REPLACE\` line before the end of the answer (the block is unterminated)`,
      );
      for (let k = i; k < j; k++) framing.add(k);
      i = j - 1;
      continue;
    }
    const start = i;
    for (let k = start; k <= end; k++) framing.add(k);
    const closing = nextNonBlank(lines, end + 1);
    if (closing >= 0 && /^\s*(?:`{3,}|~{3,})\s*$/.test(lines[closing]!)) framing.add(closing);
    i = end;
    prevEnd = end;

    const divider = pickDivider(lines, dividers, /^<+/.exec(line)![0].length);
    if (typeof divider === 'string') {
      problems.push(`${label}: ${divider}`);
      continue;
    }
    if (where.problem || !where.path) {
      problems.push(`${label}: ${where.problem ?? 'no file path'}`);
      continue;
    }
    const checked = checkEditPath(where.path);
    if ('problem' in checked) {
      problems.push(`block ${block}: the path \`${where.path}\` ${checked.problem}`);
      continue;
    }
    prevPath = checked.path;
    edits.push({
      path: checked.path,
      search: joinBlockLines(lines.slice(start + 1, divider)),
      replace: joinBlockLines(lines.slice(divider + 1, end)),
      index: edits.length,
    });
  }
  if (problems.length) throw new EditFormatError(problems);
  const explanation = lines
    .filter((_, n) => !framing.has(n))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { explanation, edits };
}

function joinBlockLines(lines: string[]): string {
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function previousNonBlank(lines: string[], from: number, stop: number): number {
  for (let k = from; k > stop; k--) if (lines[k]!.trim() !== '') return k;
  return -1;
}

function nextNonBlank(lines: string[], from: number): number {
  for (let k = from; k < lines.length; k++) if (lines[k]!.trim() !== '') return k;
  return -1;
}

/**
 * The `=======` that splits a block. Content may itself hold such a line (a reStructuredText
 * underline, a merge marker); then only a divider as long as the block's own markers is taken,
 * and if that still leaves a choice the block is refused rather than split at a guess.
 */
function pickDivider(lines: string[], dividers: number[], markerLength: number): number | string {
  if (dividers.length === 1) return dividers[0]!;
  if (dividers.length === 0) return 'no `=======` line between SEARCH and REPLACE';
  const matching = dividers.filter((d) => DIVIDER.exec(lines[d]!)![1]!.length === markerLength);
  if (matching.length === 1) return matching[0]!;
  return `${dividers.length} lines of \`=\` signs between SEARCH and REPLACE, so it is unclear which one divides them; split the change into blocks whose text has no such line`;
}

/**
 * The file a block edits: the nearest non-blank line above its SEARCH marker, looking past at most
 * one fence opening (the path may come before the fence or be its first line). A block with no
 * path of its own continues the previous block's file only inside the same fence.
 */
function findPath(lines: string[], search: number, prevEnd: number, prevPath: string | undefined): BlockPath {
  const framing: number[] = [];
  let fences = 0;
  for (let k = search - 1; k > prevEnd; k--) {
    const t = lines[k]!.trim();
    if (t === '') continue;
    if (FENCE.test(t)) {
      if (++fences > 1) break;
      framing.push(k);
      continue;
    }
    const path = pathFromLine(t);
    if (path === null) {
      return {
        framing,
        problem: `no file path on the line before \`<<<<<<< SEARCH\` (found \`${t.slice(0, 80)}\`); put the path alone on its own line`,
      };
    }
    framing.push(k);
    // The path as a fence's first line: that fence is framing too.
    const above = previousNonBlank(lines, k - 1, prevEnd);
    if (fences === 0 && above >= 0 && FENCE.test(lines[above]!)) framing.push(above);
    return { path, framing };
  }
  if (fences === 0 && prevEnd >= 0 && prevPath) return { path: prevPath, framing };
  return { framing, problem: 'no file path before `<<<<<<< SEARCH`; put the path alone on the line before the block' };
}
