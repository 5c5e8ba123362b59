import path from 'node:path';
import { localGit } from '../git/git-objects.js';
import { keepOut } from './prepare-environment.js';

/** Back to the commit, for the next answer or candidate: tracked files restored, new and ignored ones removed, the prepared environment kept. */
export async function resetWorktree(dir: string, keep: readonly string[]): Promise<void> {
  const gitDir = path.join(dir, '.git');
  await localGit(gitDir, ['--work-tree', dir, 'reset', '--hard', '--quiet']);
  await localGit(gitDir, ['--work-tree', dir, 'clean', '-fdxq', ...keepOut(keep).cleanExcludes]);
}
