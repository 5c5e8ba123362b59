import { termCounts } from '../code/bm25.js';
import { extractSnippets, lineWindows } from '../code/snippets.js';
import { languageOf } from '../code/tree-sitter.js';
import { tokenize } from '../code/tokenize.js';

/** A snippet as the index stores it: where it is in its blob and its terms, not its text. */
export interface StoredSnippet {
  ordinal: number;
  kind: string;
  name: string;
  qualifiedName: string;
  enclosing: string | null;
  language: string;
  startLine: number;
  endLine: number;
  signature: string;
  /** "term:tf term:tf …", the snippet's code-aware tokens with their counts. */
  terms: string;
  /** Tokens in all (the BM25 document length). */
  length: number;
}

/** Lines this long on average mean generated or minified text: nothing worth a snippet. */
const MINIFIED_LINE = 400;

/**
 * Cuts one file into stored snippets: definitions where a grammar covers the language, windows
 * of lines for other text and for code files that define nothing (scripts, `__init__` files).
 */
export async function cutBlob(path: string, text: string): Promise<StoredSnippet[]> {
  const lines = text.split('\n').length;
  if (text.length / lines > MINIFIED_LINE) return [];
  const language = languageOf(path);
  let snippets = language ? await extractSnippets(path, text).catch(() => []) : [];
  if (snippets.length === 0) snippets = lineWindows(path, text).map((w) => ({ ...w, language: language ?? 'text' }));
  const pathTokens = tokenize(path);
  return snippets.map((s, ordinal) => {
    const tokens = tokenize(s.text);
    tokens.push(...pathTokens);
    const counts = termCounts(tokens);
    return {
      ordinal,
      kind: s.kind,
      name: s.name,
      qualifiedName: s.qualifiedName,
      enclosing: s.enclosing,
      language: s.language,
      startLine: s.startLine,
      endLine: s.endLine,
      signature: s.signature,
      terms: [...counts].map(([t, n]) => `${t}:${n}`).join(' '),
      length: tokens.length,
    };
  });
}

/** Parses the stored "term:tf …" form back into counts. */
export function parseTerms(terms: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!terms) return counts;
  for (const pair of terms.split(' ')) {
    const colon = pair.lastIndexOf(':');
    counts.set(pair.slice(0, colon), Number(pair.slice(colon + 1)));
  }
  return counts;
}
