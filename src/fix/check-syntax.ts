import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { localGit } from '../git/git-objects.js';
import { syntaxErrors } from '../code/snippets.js';
import { ParseGivenUp } from '../code/tree-sitter.js';

/**
 * The changed files that parse worse than before: tree-sitter errors the edit added (a file that
 * was already broken somewhere is judged only on new errors). Files without a grammar pass.
 */
export async function newSyntaxErrors(gitDir: string, commit: string, worktree: string, files: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const file of files) {
    const after = await readFile(path.join(worktree, file), 'utf8').catch(() => null);
    if (after === null) continue;
    const before = await localGit(gitDir, ['show', `${commit}:${file}`]).catch(() => '');
    // A file tree-sitter gives up on within its time limit: the committed one cannot be judged
    // against, an edited one is not a fix anyone can review.
    const [was, is] = await Promise.all([syntaxErrors(file, before).catch(givenUp), syntaxErrors(file, after).catch(givenUp)]);
    if (was === null) continue;
    if (is === null) {
      problems.push(`${file} could not be parsed within the time limit: it is too large or too broken to check.`);
      continue;
    }
    if (is.length > was.length) {
      const fresh = is.filter((line) => !was.includes(line));
      problems.push(
        `${file} no longer parses: syntax errors at line${fresh.length > 1 ? 's' : ''} ${(fresh.length ? fresh : is).slice(0, 5).join(', ')}.`,
      );
    }
  }
  return problems;
}

function givenUp(err: unknown): null {
  if (err instanceof ParseGivenUp) return null;
  throw err;
}
