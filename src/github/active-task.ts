import type { Queryable } from '../db/database.js';
import { getJobById } from '../jobs/job-lifecycle.js';
import { type GitHubTask, latestTask } from './tasks.js';

/**
 * The task of an issue or pull request whose job is still waiting or running, if any: a second fix
 * there would race the first for the same branch and comment. `own` is the task the caller is
 * (re)starting: a retried event must not find itself in the way.
 */
export async function activeTask(db: Queryable, repositoryId: number, issueNumber: number, own?: string): Promise<GitHubTask | null> {
  const latest = await latestTask(db, repositoryId, issueNumber);
  if (!latest || latest.id === own) return null;
  const job = await getJobById(db, latest.id);
  const open = job?.state === 'queued' || job?.state === 'running';
  return open || latest.state === 'pending' ? latest : null;
}
