import { termCounts } from '../code/bm25.js';
import { extractSnippets, type Snippet } from '../code/snippets.js';
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
  const snippets = (await extractSnippets(path, text)).flatMap((s, _, all) =>
    s.kind === 'class' && s.endLine - s.startLine > WHOLE_CLASS_LINES ? (headOf(s, all) ?? []) : [s],
  );
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
