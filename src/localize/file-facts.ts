import { termCounts } from '../code/bm25.js';
import { tokenize } from '../code/tokenize.js';

/** A function, method or class of a file (or a window of lines where none is recognised). */
export interface Chunk {
  name: string;
  startLine: number;
  terms: Map<string, number>;
  length: number;
}

/** What the localizer knows of one blob; computed once per blob sha and cached. */
export interface FileFacts {
  chunks: Chunk[];
  terms: Map<string, number>;
  length: number;
  /** Names the file defines: functions, methods, classes, types. */
  definitions: Set<string>;
  /** name → module of `from module import name` lines (re-exports, for __init__ files). */
  reexports: Map<string, string>;
}

const DEFINITION =
  /^[ \t]*(?:(?:async[ \t]+)?def|class|(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?function\*?|func(?:[ \t]*\([^)]*\))?|fn|(?:pub(?:\([^)]*\))?[ \t]+)?(?:struct|enum|trait|interface|type))[ \t]+([A-Za-z_]\w*)/gm;
const FROM_IMPORT = /^from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]+)/gm;

const CHUNK_START = /^[ \t]*(?:(?:async[ \t]+)?def|class)[ \t]+([A-Za-z_]\w*)/;
const WINDOW = 60;

/** Cuts a file at every def/class line; files without them fall back to windows of lines. */
function chunksOf(content: string): Chunk[] {
  const lines = content.split('\n');
  const starts: Array<{ line: number; name: string }> = [];
  lines.forEach((line, i) => {
    const m = CHUNK_START.exec(line);
    if (m) starts.push({ line: i, name: m[1]! });
  });
  if (starts.length === 0) {
    for (let i = 0; i < lines.length; i += WINDOW) starts.push({ line: i, name: `lines ${i + 1}-${Math.min(lines.length, i + WINDOW)}` });
  } else if (starts[0]!.line > 0) {
    starts.unshift({ line: 0, name: '(module)' });
  }
  return starts.map((start, k) => {
    const end = starts[k + 1]?.line ?? lines.length;
    const tokens = tokenize(lines.slice(start.line, end).join('\n'));
    return { name: start.name, startLine: start.line + 1, terms: termCounts(tokens), length: tokens.length };
  });
}

export function fileFacts(content: string): FileFacts {
  const chunks = chunksOf(content);
  const terms = new Map<string, number>();
  let length = 0;
  for (const c of chunks) {
    length += c.length;
    for (const [t, n] of c.terms) terms.set(t, (terms.get(t) ?? 0) + n);
  }
  const definitions = new Set<string>();
  for (const m of content.matchAll(DEFINITION)) definitions.add(m[1]!);
  const reexports = new Map<string, string>();
  for (const m of content.matchAll(FROM_IMPORT)) {
    for (const item of m[2]!.replace(/[()\\]/g, ' ').split(',')) {
      const [name, alias] = item.trim().split(/\s+as\s+/);
      if (name && /^\w+$/.test(name)) reexports.set(alias?.trim() || name, m[1]!);
    }
  }
  return { chunks, terms, length, definitions, reexports };
}
