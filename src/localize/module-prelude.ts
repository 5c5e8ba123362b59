/**
 * Where a file's prelude is: the imports, module constants and tables above its first top-level
 * definition. Fixes often touch it (a missing import, an entry in a module-level table), and a
 * view of a long file cut to its functions would hide it.
 */

// A definition (or its decorator) at the left margin: the prelude is over.
const TOP_DEFINITION =
  /^(?:@|(?:async\s+)?def\s|class\s|(?:export\s+)?(?:default\s+)?(?:async\s+)?function[\s*]|(?:export\s+)?(?:abstract\s+)?class\s|func\s|(?:pub(?:\([^)]*\))?\s+)?(?:fn|struct|enum|trait|impl)\b)/;
const IMPORT = /^(?:from\s+\S+\s+import\b|import\s|use\s|#include\b|(?:const|let|var)\s+.*=\s*require\()/;
const COMMENT_OR_BLANK = /^\s*(?:#|\/\/|\/\*|\*|$)/;
const DOCSTRING = /^[rRuUbB]?("""|''')/;

/**
 * The first line (0-based) after the file's leading comments, licence header and docstring. The
 * blank lines after them are the prelude's: a fix that adds the first import, or removes blank
 * lines there, is anchored on them.
 */
function afterHeader(lines: readonly string[]): number {
  let header = 0;
  let i = 0;
  for (;;) {
    while (i < lines.length && COMMENT_OR_BLANK.test(lines[i]!)) {
      if (lines[i]!.trim() !== '') header = i + 1;
      i++;
    }
    const quote = DOCSTRING.exec(lines[i] ?? '');
    if (!quote) return header;
    // The docstring closes on its own line or a later one.
    let j = lines[i]!.includes(quote[1]!, quote[0].length) ? i : i + 1;
    while (j < lines.length && !lines[j]!.includes(quote[1]!)) j++;
    i = j + 1;
    header = i;
  }
}

/**
 * The lines (1-based, inclusive) worth showing of the file's prelude, past its leading comments
 * and docstring, at most `cap` of them: the whole prelude when it fits, else its imports when
 * they do; null when there is nothing before the first definition or it would not fit.
 */
export function preludeOf(lines: readonly string[], cap: number): [number, number] | null {
  const start = afterHeader(lines);
  const range = (end: number): [number, number] | null => (end > start && end - start <= cap ? [start + 1, end] : null);
  let first = lines.findIndex((l) => TOP_DEFINITION.test(l));
  if (first < 0) first = lines.length;
  // Back over the blank lines and comments that lead into the first definition.
  let end = first;
  while (end > start && COMMENT_OR_BLANK.test(lines[end - 1]!)) end--;
  if (end <= start) return null;
  // One blank line more: an insertion after the last statement anchors there.
  const whole = range(Math.min(first, end + 1));
  if (whole) return whole;
  let lastImport = 0;
  let depth = 0;
  for (let i = 0; i < end; i++) {
    const line = lines[i]!;
    const continues = depth > 0 || (i > 0 && lines[i - 1]!.endsWith('\\'));
    if (IMPORT.test(line) || (continues && lastImport === i)) lastImport = i + 1;
    for (const c of line.replace(/#.*$/, '')) depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    if (depth < 0) depth = 0;
  }
  return lastImport > start ? range(lastImport + 1) : null;
}
