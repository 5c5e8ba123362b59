import { worktreeGit } from '../git/worktree-git.js';
import { keepOut } from './prepare-environment.js';

/** Back to the commit, for the next answer or candidate: tracked files restored, new and ignored ones removed, the prepared environment kept. */
export async function resetWorktree(dir: string, keep: readonly string[]): Promise<void> {
  await worktreeGit(dir, ['reset', '--hard', '--quiet']);
  await worktreeGit(dir, ['clean', '-fdxq', ...keepOut(keep).cleanExcludes]);
}
