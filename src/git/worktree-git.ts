import path from 'node:path';
import { localGit } from './git-objects.js';

/**
 * Git on a job's work tree (its `.git` file names its git dir). Files are compared with the index
 * by size, mode and mtime only: a sandbox takes the tree over as a uid of its own, which changes
 * every owner and ctime, and git would otherwise read and hash each such file again to learn that
 * nothing changed (150 ms on a sympy-size tree). Racy-git protection still applies.
 */
export function worktreeGit(dir: string, args: string[]): Promise<string> {
  return localGit(path.join(dir, '.git'), ['-c', 'core.checkStat=minimal', '-c', 'core.trustctime=false', '--work-tree', dir, ...args]);
}
