import { termCounts } from './bm25.js';
import { tokenize } from './tokenize.js';

/** What the localizer knows of one blob; computed once per blob sha and cached. */
export interface FileFacts {
  terms: Map<string, number>;
  length: number;
  /** Names the file defines: functions, methods, classes (and module-level names, weaker). */
  definitions: Set<string>;
  assignments: Set<string>;
  /** name → module of `from module import name` lines (re-exports, for __init__ files). */
  reexports: Map<string, string>;
}

const DEFINITION =
  /^[ \t]*(?:(?:async[ \t]+)?def|class|(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?function\*?|func(?:[ \t]*\([^)]*\))?|fn|(?:pub(?:\([^)]*\))?[ \t]+)?(?:struct|enum|trait|interface|type))[ \t]+([A-Za-z_]\w*)/gm;
const ASSIGNMENT = /^([A-Za-z_]\w*)[ \t]*(?::[^=\n]+)?=(?!=)/gm;
const FROM_IMPORT = /^from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]+)/gm;

export function fileFacts(content: string): FileFacts {
  const tokens = tokenize(content);
  const definitions = new Set<string>();
  for (const m of content.matchAll(DEFINITION)) definitions.add(m[1]!);
  const assignments = new Set<string>();
  for (const m of content.matchAll(ASSIGNMENT)) if (!definitions.has(m[1]!)) assignments.add(m[1]!);
  const reexports = new Map<string, string>();
  for (const m of content.matchAll(FROM_IMPORT)) {
    for (const item of m[2]!.replace(/[()\\]/g, ' ').split(',')) {
      const [name, alias] = item.trim().split(/\s+as\s+/);
      if (name && /^\w+$/.test(name)) reexports.set(alias?.trim() || name, m[1]!);
    }
  }
  return { terms: termCounts(tokens), length: tokens.length, definitions, assignments, reexports };
}
