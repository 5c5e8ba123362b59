import { KodahError } from '../lib/errors.js';
import { submitJob } from '../jobs/submit-job.js';
import { findOrCreateComment, editComment, reactEyes } from './comments.js';
import { cloneUrl, type GitHubDeps } from './github-deps.js';
import { enqueueDelivery } from './github-queues.js';
import { renderRefused, renderStatus } from './render-comment.js';
import { repoName } from './repo-access.js';
import { createTask, type GitHubTask, type NewTask, updateTask } from './tasks.js';

export interface StartTaskInput {
  accountId: string;
  /** The job's description, snapshotted now: later edits of the issue change nothing. */
  description: string;
  /** Branch or commit the job fixes. */
  ref: string;
  /** Where the 👀 goes: the labelled issue or the command's comment. */
  reactTo?: { issue: number } | { commentId: number };
}

/** Refusals a user can act on: said in the status comment, and the task ends there. */
const REFUSALS = new Set(['payment_required', 'not_found', 'invalid_input']);
/** Limits that pass: the event is retried later, with the status comment saying it waits. */
const WAITS = new Set(['job_in_progress', 'at_capacity']);

/**
 * Starts a fix GitHub asked for: the task row, the 👀 reaction, one status comment, and the job
 * (credits and limits exactly as for the REST API). Every step finds what an earlier run of the
 * same event made, so a retried or redelivered event never doubles a comment or a job.
 */
export async function startTask(deps: GitHubDeps, newTask: NewTask, input: StartTaskInput): Promise<GitHubTask> {
  const { db } = deps;
  const task = await createTask(db, newTask);
  if (task.state !== 'pending') return task;
  const log = deps.log.child({ taskId: task.id, repo: task.repoFullName, issue: task.issueNumber });
  const octokit = deps.api.installation(task.installationId);
  const repo = repoName(task.repoFullName);
  if (input.reactTo) await reactEyes(octokit, repo, input.reactTo);

  const key = `task:${task.id}`;
  const queued = renderStatus({ key, jobId: task.id, state: 'queued', trigger: task.trigger });
  let commentId = task.statusCommentId;
  if (!commentId) {
    commentId = await findOrCreateComment(octokit, repo, task.issueNumber, key, queued, await deps.api.botLogin());
    await updateTask(db, task.id, { statusCommentId: commentId });
  }

  // A run that crashed after the job was accepted finds it here (accepting again would count the
  // job against its own account's limit).
  const { rows } = await db.query('SELECT 1 FROM jobs WHERE id = $1', [task.id]);
  if (rows.length === 0) {
    try {
      await submitJob(deps.submit, input.accountId, {
        task: 'fix',
        repoUrl: cloneUrl(deps.settings, task.repoFullName),
        ref: input.ref,
        description: input.description,
        source: 'github',
        jobId: task.id,
      });
    } catch (err) {
      if (!(err instanceof KodahError)) throw err;
      if (REFUSALS.has(err.code)) {
        log.info({ code: err.code }, 'fix refused');
        await editComment(octokit, repo, commentId, renderRefused({ key, reason: err.message }));
        await updateTask(db, task.id, { state: 'refused' });
        return { ...task, statusCommentId: commentId, state: 'refused' };
      }
      if (WAITS.has(err.code)) {
        log.info({ code: err.code }, 'fix waits for a free slot');
        if (task.statusStage !== 'waiting') {
          await editComment(octokit, repo, commentId, renderStatus({ key, jobId: task.id, state: 'queued', stage: `waiting: ${err.message}`, trigger: task.trigger }));
          await updateTask(db, task.id, { statusStage: 'waiting' });
        }
        throw new KodahError(err.code, err.message, { retryable: true, cause: err });
      }
      throw err;
    }
  }
  await updateTask(db, task.id, { state: 'submitted' });
  await enqueueDelivery(deps.boss, { taskId: task.id, final: false });
  log.info('fix job started');
  return { ...task, statusCommentId: commentId, state: 'submitted' };
}
