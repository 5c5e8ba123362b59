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

// A Go receiver or a Rust visibility is read within its line: `[^)]*` would scan to the end of
// the file from every line that opens one and never closes it.
const DEFINITION =
  /^[ \t]*(?:(?:async[ \t]+)?def|class|(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?function\*?|func(?:[ \t]*\([^)\n]{0,200}\))?|fn|(?:pub(?:\([^)\n]{0,40}\))?[ \t]+)?(?:struct|enum|trait|interface|type))[ \t]+([A-Za-z_]\w*)/gm;
// The list after `import` is read apart (fromImports), for the same reason.
const FROM_IMPORT = /^from[ \t]+([.\w]+)[ \t]+import[ \t]+/gm;

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
  return { chunks, terms, length, definitions, reexports: fromImports(content) };
}

/** name (or its alias) → module, of every `from module import a, b as c` and `from module import (…)`. */
function fromImports(content: string): Map<string, string> {
  const imports = new Map<string, string>();
  const lines = [...content.matchAll(FROM_IMPORT)];
  lines.forEach((m, k) => {
    // A list ends before the next import line at the latest: no part of the file is read twice,
    // so lists opened and never closed, or lines continued for ever, read in linear time.
    const region = content.slice(m.index + m[0].length, lines[k + 1]?.index ?? content.length);
    let list: string;
    if (region[0] === '(') {
      const close = region.indexOf(')');
      if (close < 0) return;
      list = region.slice(1, close);
    } else {
      // To the end of the line, and of each line a backslash continues.
      let end = region.indexOf('\n');
      while (end > 0 && region[end - 1] === '\\') end = region.indexOf('\n', end + 1);
      list = end < 0 ? region : region.slice(0, end);
    }
    for (const item of list
      .replace(/#[^\n]*/g, '')
      .replaceAll('\\', ' ')
      .split(',')) {
      // "name" or "name as alias", split on blanks alone: `\s+as\s+` is quadratic in a long run of them.
      const words = item.trim().split(/\s+/);
      const alias = words.length === 3 && words[1] === 'as' ? words[2]! : words.length === 1 ? words[0]! : '';
      if (/^\w+$/.test(words[0]!) && /^\w+$/.test(alias)) imports.set(alias, m[1]!);
    }
  });
  return imports;
}
