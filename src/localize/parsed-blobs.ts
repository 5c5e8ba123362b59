import { termCounts } from '../code/bm25.js';
import { extractSnippets, type Snippet } from '../code/snippets.js';
import { tokenize } from '../code/tokenize.js';

/** A blob's functions and classes with their terms, as the snippet ranking scores them. */
export interface ParsedBlob {
  snippets: Snippet[];
  terms: Array<Map<string, number>>;
  lengths: number[];
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
  const snippets = await extractSnippets(path, text);
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
