import path from 'node:path';
import { localGit, repositoryGitEnv } from './git-objects.js';

/**
 * Git on a job's work tree (its `.git` file names its git dir). Files are compared with the index
 * by size, mode and mtime only: a sandbox takes the tree over as a uid of its own, which changes
 * every owner and ctime, and git would otherwise read and hash each such file again to learn that
 * nothing changed (150 ms on a sympy-size tree). Racy-git protection still applies.
 */
export function worktreeGit(dir: string, args: string[], env?: Record<string, string>): Promise<string> {
  return localGit(path.join(dir, '.git'), ['-c', 'core.checkStat=minimal', '-c', 'core.trustctime=false', '--work-tree', dir, ...args], {
    env,
  });
}

/**
 * The environment worktreeGit reads before each command, read once for a few commands in a row
 * that nothing else runs between: each read is a git process (13 ms of a 24 ms command).
 */
export function worktreeGitEnv(dir: string): Promise<Record<string, string>> {
  return repositoryGitEnv(path.join(dir, '.git'));
}
