import { termCounts } from '../code/bm25.js';
import { extractSnippets, lineWindows, type Snippet } from '../code/snippets.js';
import { ParseGivenUp } from '../code/tree-sitter.js';
import { tokenize } from '../code/tokenize.js';

/**
 * A blob's functions and classes with their terms, as the snippet ranking scores them; a long
 * class is there by its head.
 */
export interface ParsedBlob {
  snippets: Snippet[];
  terms: Array<Map<string, number>>;
  lengths: number[];
}

/** A class longer than this is ranked by its head alone: its methods are ranked on their own. */
export const WHOLE_CLASS_LINES = 400;
/** The longest class head kept, in lines. */
const HEAD_LINES = 150;
const TRAILER = /^\s*(?:@.*|#.*)?$/;

/**
 * The head of a long class: its signature, docstring and the attributes above its first method,
 * where a fix that adds or changes a class attribute goes. Null when a method comes first or the
 * head would be too long to be worth a place of its own.
 */
function headOf(cls: Snippet, inner: Snippet[]): Snippet | null {
  const first = Math.min(...inner.filter((s) => s.startLine > cls.startLine && s.endLine <= cls.endLine).map((s) => s.startLine));
  if (!Number.isFinite(first)) return null;
  const lines = cls.text.split('\n').slice(0, first - cls.startLine);
  // The first method's decorators, comments and the blank lines before it belong to it.
  while (lines.length > 1 && TRAILER.test(lines.at(-1)!)) lines.pop();
  if (lines.length <= 1 || lines.length > HEAD_LINES) return null;
  return { ...cls, endLine: cls.startLine + lines.length - 1, text: lines.join('\n') };
}

/** The fewest code lines of a module-level block that is ranked on its own. */
const BLOCK_MIN_LINES = 3;
/** A longer block is ranked by windows of this many lines. */
const BLOCK_MAX_LINES = 80;
const BLANK_OR_COMMENT = /^\s*(?:#.*|\/\/.*)?$/;
const ASSIGNED = /^(?:export\s+)?(?:(?:const|let|var)\s+)?([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=[^=]/m;

/**
 * The module-level code between a file's definitions after its first one: tables, registrations,
 * constants, regular expressions (`morse_char = {…}` in the middle of a crypto module). A fix
 * changes them as often as it changes a function, and the prelude shows only what comes before
 * the first definition. Named by the first name they assign, so that the report naming it counts.
 */
function moduleBlocks(snippets: Snippet[], text: string): Snippet[] {
  if (snippets.length === 0 || snippets[0]!.language === 'text') return [];
  const lines = text.split('\n');
  const top = snippets.filter((s) => s.enclosing === null).sort((a, b) => a.startLine - b.startLine);
  const blocks: Snippet[] = [];
  const add = (start: number, end: number) => {
    // Blank lines and comments at either end are left out: a comment between definitions is as
    // often a section banner or the next definition's as the block's own (measured: one report
    // fewer on the dev file with them).
    while (start <= end && BLANK_OR_COMMENT.test(lines[start - 1]!)) start++;
    while (end >= start && BLANK_OR_COMMENT.test(lines[end - 1]!)) end--;
    const body = lines.slice(start - 1, end);
    if (body.filter((l) => !BLANK_OR_COMMENT.test(l)).length < BLOCK_MIN_LINES) return;
    for (let from = start; from <= end; from += BLOCK_MAX_LINES) {
      const to = Math.min(end, from + BLOCK_MAX_LINES - 1);
      const blockText = lines.slice(from - 1, to).join('\n');
      const name = ASSIGNED.exec(blockText)?.[1] ?? `${from}-${to}`;
      blocks.push({
        ...snippets[0]!,
        name,
        qualifiedName: name,
        kind: 'lines',
        enclosing: null,
        startLine: from,
        endLine: to,
        signature: '',
        text: blockText,
      });
    }
  };
  let last = top[0]?.endLine ?? lines.length;
  for (const def of top.slice(1)) {
    // Decorators belong to the definition below them.
    let start = def.startLine - 1;
    while (start > last && /^\s*@/.test(lines[start - 1]!)) start--;
    if (start > last) add(last + 1, start);
    last = Math.max(last, def.endLine);
  }
  if (top.length) add(last + 1, lines.length);
  return blocks;
}

/** Text kept in all; an agent's searches come back to the same few files of one commit. */
const MAX_BYTES = 32 * 1024 * 1024;
const parsed = new Map<string, { blob: ParsedBlob; bytes: number }>();
let bytes = 0;

/**
 * The snippets of a blob, parsed once: they are a function of its content and its language (the
 * path's extension), and parsing the best files again is most of a repeated search.
 */
export async function parsedBlob(sha: string, path: string, content: () => string): Promise<ParsedBlob> {
  const key = keyOf(sha, path);
  const known = parsed.get(key);
  if (known) {
    // Most recently used last.
    parsed.delete(key);
    parsed.set(key, known);
    return known.blob;
  }
  const text = content();
  // A file tree-sitter gives up on (broken beyond its error recovery) is ranked by windows of lines.
  const extracted = await extractSnippets(path, text).catch((err: unknown) => {
    if (err instanceof ParseGivenUp) return lineWindows(path, text);
    throw err;
  });
  const snippets = extracted
    .flatMap((s, _, all) => (s.kind === 'class' && s.endLine - s.startLine > WHOLE_CLASS_LINES ? (headOf(s, all) ?? []) : [s]))
    .concat(moduleBlocks(extracted, text));
  const tokens = snippets.map((s) => tokenize(s.text));
  const blob = { snippets, terms: tokens.map((t) => termCounts(t)), lengths: tokens.map((t) => t.length) };
  parsed.set(key, { blob, bytes: text.length });
  bytes += text.length;
  for (const [old, entry] of parsed) {
    if (bytes <= MAX_BYTES) break;
    parsed.delete(old);
    bytes -= entry.bytes;
  }
  return blob;
}

/** Whether a blob's snippets are at hand (its content need not be read). */
export function isParsed(sha: string, path: string): boolean {
  return parsed.has(keyOf(sha, path));
}

/** The parse depends on the content and on the language, which the extension names. */
function keyOf(sha: string, path: string): string {
  return `${sha}:${path.slice(path.lastIndexOf('.') + 1)}`;
}
