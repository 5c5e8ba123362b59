import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { localGit } from '../git/git-objects.js';
import type { SimilarCommit } from './history-signals.js';

/** Per path, the functions and classes past commits like the report changed, 0–1 (the most voted has 1). */
export type PastFunctions = Map<string, Map<string, number>>;

/**
 * git's own funcname drivers by extension, so that a hunk header names the enclosing function (the
 * default names the last unindented line: a Python method's class). Given as a global attributes
 * file, which a bare mirror reads; the repository's own attributes are never asked for a program.
 */
const DRIVERS = `*.py diff=python
*.pyi diff=python
*.go diff=golang
*.rs diff=rust
*.java diff=java
*.kt diff=kotlin
*.rb diff=ruby
*.php diff=php
*.cs diff=csharp
*.c diff=cpp
*.h diff=cpp
*.cc diff=cpp
*.cpp diff=cpp
*.hpp diff=cpp
`;
let driversFile: Promise<string> | undefined;
function attributesFile(): Promise<string> {
  driversFile ??= mkdtemp(path.join(tmpdir(), 'kodah-drivers-')).then(async (dir) => {
    const file = path.join(dir, 'attributes');
    await writeFile(file, DRIVERS);
    return file;
  });
  return driversFile;
}

const COMMIT_START = '\u001e';
const DEFINITION = /\b(?:def|class|function|func|fn|sub|struct|enum|trait|interface|module)\s+([A-Za-z_$][\w$]*)/;
const CALL_LIKE = /([A-Za-z_$][\w$]*)\s*\(/g;
const KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'func', 'function', 'def', 'fn', 'with', 'elif', 'sizeof']);
/** A changed line that itself defines something: the hunk changed that definition (its header names the one before). */
const DEFINING_LINE = /^[+-]\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)/;

/** The name a hunk header (or a defining line) gives: `def _print_Mul(self, expr):` → `_print_Mul`. */
export function definedName(header: string): string | undefined {
  const defined = DEFINITION.exec(header);
  if (defined) return defined[1];
  for (const m of header.matchAll(CALL_LIKE)) if (!KEYWORDS.has(m[1]!)) return m[1];
  return undefined;
}

/**
 * The diffs of 30 commits are a few hundred KB on sympy; a repository whose commits change huge
 * files would hand the worker hundreds of MB for a light signal. Past this, git is stopped and the
 * functions are ranked without it (localize() catches the failure).
 */
const MAX_DIFF_BYTES = 32 * 1024 * 1024;

/**
 * What the past commits most like the report changed, function by function: an earlier fix of
 * "the LaTeX of a Subs" changed `_print_Subs`, and the next bug of that kind is likely there too,
 * even when its words never appear in the code. Each commit votes by its similarity, split over
 * the functions it changed; read from the commits' diffs (hunk headers under git's funcname
 * drivers, and definitions the hunks themselves change).
 */
export async function pastFunctions(gitDir: string, similar: SimilarCommit[]): Promise<PastFunctions> {
  const past: PastFunctions = new Map();
  if (similar.length === 0) return past;
  const out = await localGit(
    gitDir,
    [
      '-c',
      `core.attributesFile=${await attributesFile()}`,
      'log',
      '--no-walk=unsorted',
      '--no-renames',
      '--no-ext-diff',
      '--no-textconv',
      '--patch',
      '--unified=0',
      `--format=${COMMIT_START}%H`,
      '--end-of-options',
      ...similar.map((c) => c.sha),
    ],
    { maxOutputBytes: MAX_DIFF_BYTES },
  );
  const weightOf = new Map(similar.map((c) => [c.sha, c.score]));
  for (const entry of out.split(COMMIT_START)) {
    const weight = weightOf.get(entry.slice(0, 40));
    if (weight === undefined) continue;
    const changed = new Map<string, Set<string>>();
    let file: string | undefined;
    // Between `diff --git` and the first hunk: where `+++ b/path` names the file (further on, a
    // line reading `+++ ` is an added line).
    let header = false;
    for (const line of entry.split('\n')) {
      if (line.startsWith('diff --git ')) {
        header = true;
        file = undefined;
        continue;
      }
      if (header) {
        if (line.startsWith('+++ ')) file = line === '+++ /dev/null' ? undefined : line.slice(6);
        if (!line.startsWith('@@')) continue;
        header = false;
      }
      if (file === undefined) continue;
      const name = line.startsWith('@@') ? definedName(line.slice(line.indexOf('@@', 2) + 2)) : DEFINING_LINE.exec(line)?.[1];
      if (!name) continue;
      let names = changed.get(file);
      if (!names) changed.set(file, (names = new Set()));
      names.add(name);
    }
    const count = [...changed.values()].reduce((n, s) => n + s.size, 0);
    for (const [file, names] of changed) {
      let votes = past.get(file);
      if (!votes) past.set(file, (votes = new Map()));
      for (const name of names) votes.set(name, (votes.get(name) ?? 0) + weight / Math.sqrt(count));
    }
  }
  let max = 0;
  for (const votes of past.values()) for (const v of votes.values()) max = Math.max(max, v);
  for (const votes of past.values()) for (const [name, v] of votes) votes.set(name, v / max);
  return past;
}
