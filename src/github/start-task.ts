import { type ErrorCode, KodahError } from '../lib/errors.js';
import { getJobById } from '../jobs/job-lifecycle.js';
import { submitJob } from '../jobs/submit-job.js';
import { findOrCreateComment, editComment, reactEyes, type ReactionTarget } from './comments.js';
import type { RepoContext } from './event-context.js';
import { cloneUrl } from './github-deps.js';
import { enqueueDelivery } from './github-queues.js';
import { renderRefused, renderStatus } from './render-comment.js';
import { createTask, type GitHubTask, type NewTask, updateTask } from './tasks.js';

export interface StartTaskInput {
  accountId: string;
  /** The job's description, snapshotted now: later edits of the issue change nothing. */
  description: string;
  /** Branch or commit the job fixes. */
  ref: string;
  /** Where the 👀 goes: the labelled issue, the command's comment, a review's first inline comment. */
  reactTo?: ReactionTarget;
}

/** Refusals a user can act on: said in the status comment, and the task ends there. */
const REFUSALS = new Set<ErrorCode>(['payment_required', 'not_found', 'invalid_input', 'engine_not_configured']);
/** Limits that pass: the event is retried later, with the status comment saying it waits. */
const WAITS = new Set<ErrorCode>(['job_in_progress', 'at_capacity']);

/**
 * Starts a fix GitHub asked for: the task row, the 👀 reaction, one status comment, and the job
 * (credits and limits exactly as for the REST API). Every step finds what an earlier run of the
 * same event made, so a retried or redelivered event never doubles a comment or a job.
 */
export async function startTask(
  ctx: RepoContext,
  newTask: Omit<NewTask, 'installationId' | 'repoFullName'>,
  input: StartTaskInput,
): Promise<GitHubTask> {
  const { deps, repo } = ctx;
  const { db } = deps;
  // The task's installation and repository are the event's: its answer goes back where it came from.
  const task = await createTask(db, { ...newTask, installationId: ctx.installationId, repoFullName: ctx.fullName });
  if (task.state !== 'pending') return task;
  const log = ctx.log.child({ taskId: task.id, issue: task.issueNumber });
  const { octokit } = ctx;
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
  if (!(await getJobById(db, task.id))) {
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
        await editComment(octokit, repo, commentId, renderRefused({ key, code: err.code, reason: err.message }));
        await updateTask(db, task.id, { state: 'refused' });
        return { ...task, statusCommentId: commentId, state: 'refused' };
      }
      if (WAITS.has(err.code)) {
        log.info({ code: err.code }, 'fix waits for a free slot');
        if (task.statusStage !== 'waiting') {
          await editComment(
            octokit,
            repo,
            commentId,
            renderStatus({ key, jobId: task.id, state: 'queued', stage: `waiting: ${err.message}`, trigger: task.trigger }),
          );
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
