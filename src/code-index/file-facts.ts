import { termCounts } from './bm25.js';
import { tokenize } from './tokenize.js';

/** What the localizer knows of one blob; computed once per blob sha and cached. */
export interface FileFacts {
  terms: Map<string, number>;
  length: number;
  /** Names the file defines: functions, methods, classes (and module-level names, weaker). */
  definitions: Set<string>;
  assignments: Set<string>;
}

const DEFINITION =
  /^[ \t]*(?:(?:async[ \t]+)?def|class|(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?function\*?|func(?:[ \t]*\([^)]*\))?|fn|(?:pub(?:\([^)]*\))?[ \t]+)?(?:struct|enum|trait|interface|type))[ \t]+([A-Za-z_]\w*)/gm;
const ASSIGNMENT = /^([A-Za-z_]\w*)[ \t]*(?::[^=\n]+)?=(?!=)/gm;

export function fileFacts(content: string): FileFacts {
  const tokens = tokenize(content);
  const definitions = new Set<string>();
  for (const m of content.matchAll(DEFINITION)) definitions.add(m[1]!);
  const assignments = new Set<string>();
  for (const m of content.matchAll(ASSIGNMENT)) if (!definitions.has(m[1]!)) assignments.add(m[1]!);
  return { terms: termCounts(tokens), length: tokens.length, definitions, assignments };
}
