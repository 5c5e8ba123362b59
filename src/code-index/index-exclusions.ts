import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { readBlobs, type TreeFile } from '../git/git-objects.js';

/** Files whose patterns (gitignore syntax, relative to their folder) keep paths out of snippets and search. */
const RULE_FILES = new Set(['.gitignore', '.noindex']);
/** A rule file larger than this is not a list of patterns anyone wrote by hand: it is left out. */
const MAX_RULES_BYTES = 256 * 1024;

/**
 * The paths of a commit that its own `.gitignore` files or a `.noindex` file exclude. Git keeps
 * such files when they were added before the rule (or with `add -f`): generated code, vendored
 * copies, fixtures. They stay listed as files; they are not cut into snippets or searched.
 * A folder's rules apply below it, and the deepest folder with an opinion on a path decides,
 * so a nested `!pattern` can take back what a parent folder excluded.
 */
export async function excludedPaths(gitDir: string, tree: readonly TreeFile[]): Promise<Set<string>> {
  const ruleFiles = tree.filter((f) => RULE_FILES.has(path.posix.basename(f.path)) && f.size <= MAX_RULES_BYTES);
  if (ruleFiles.length === 0) return new Set();
  const contents = await readBlobs(
    gitDir,
    ruleFiles.map((f) => f.sha),
  );
  const byFolder = new Map<string, Ignore>();
  for (const file of ruleFiles) {
    const text = contents.get(file.sha)?.toString('utf8');
    if (!text) continue;
    const folder = path.posix.dirname(file.path);
    const rules = byFolder.get(folder) ?? ignore({ allowRelativePaths: true });
    rules.add(text);
    byFolder.set(folder, rules);
  }
  const excluded = new Set<string>();
  for (const file of tree) {
    if (isExcluded(file.path, byFolder)) excluded.add(file.path);
  }
  return excluded;
}

function isExcluded(filePath: string, byFolder: Map<string, Ignore>): boolean {
  // From the deepest folder up: the first whose rules name the path decides.
  for (let folder = path.posix.dirname(filePath); ; folder = path.posix.dirname(folder)) {
    const rules = byFolder.get(folder);
    if (rules) {
      const relative = folder === '.' ? filePath : filePath.slice(folder.length + 1);
      const verdict = rules.test(relative);
      if (verdict.ignored) return true;
      if (verdict.unignored) return false;
    }
    if (folder === '.') return false;
  }
}
