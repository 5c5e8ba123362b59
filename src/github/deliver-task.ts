import { getJobById } from '../jobs/job-lifecycle.js';
import type { JobRecord } from '../jobs/job-record.js';
import { KodahError } from '../lib/errors.js';
import { editComment } from './comments.js';
import { eventContext, type RepoContext } from './event-context.js';
import { cloneUrl, type GitHubDeps } from './github-deps.js';
import type { GitHubDeliverData } from './github-queues.js';
import { KODAH_BRANCH_PREFIX } from './kodah-branch.js';
import { findOrOpenDraftPullRequest } from './open-draft-pull-request.js';
import { pushFix } from './push-fix.js';
import { renderDiffComment, renderFailure, renderPullRequestDelivered, renderStatus } from './render-comment.js';
import { renderCommitMessage, renderPullRequestBody } from './render-pull-request.js';
import { getTask, type GitHubTask, updateTask } from './tasks.js';

/**
 * Shows a GitHub task's progress and, once its job settles, its answer: a draft pull request, a
 * diff in the status comment, or what went wrong. Runs one at a time per task (the queue's
 * singleton policy), so a late stage update can never overwrite the answer.
 */
export async function deliverTask(deps: GitHubDeps, data: GitHubDeliverData): Promise<void> {
  const task = await getTask(deps.db, data.taskId);
  const job = task && (await getJobById(deps.db, task.id));
  if (!task || !job || task.state === 'delivered' || !task.statusCommentId) return;
  const ctx = eventContext(deps, { delivery: null, installationId: task.installationId, fullName: task.repoFullName });
  const { octokit, repo } = ctx;
  const key = `task:${task.id}`;
  const log = ctx.log.child({ taskId: task.id, issue: task.issueNumber });

  if (!data.final) {
    if (job.state !== 'queued' && job.state !== 'running') return;
    const stage = `${job.state}:${job.stage ?? ''}`;
    if (task.statusStage === stage) return;
    await editComment(
      octokit,
      repo,
      task.statusCommentId,
      renderStatus({ key, jobId: job.id, state: job.state, stage: job.stage, progress: job.progress, trigger: task.trigger }),
    );
    await updateTask(deps.db, task.id, { statusStage: stage });
    return;
  }

  if (job.state === 'completed' && job.result) {
    await deliverFix(ctx, task, job, key);
  } else if (job.state === 'failed' || job.state === 'cancelled') {
    await editComment(
      octokit,
      repo,
      task.statusCommentId,
      renderFailure({
        key,
        jobId: job.id,
        message: job.error ?? 'The job failed',
        code: job.errorCode,
        kind: job.errorKind,
        refunded: job.refunded,
        attempts: job.result?.attempts ?? null,
        cancelled: job.state === 'cancelled',
        lastCommand: job.commands.at(-1),
      }),
    );
  } else {
    return; // not settled yet: a stray final delivery; the real one follows the settlement
  }
  await updateTask(deps.db, task.id, { state: 'delivered' });
  log.info({ state: job.state }, 'GitHub task answered');
}

/** Where a task's fix is pushed: Kodah's branch for the issue or check, or the branch it revises. */
function branchFor(task: GitHubTask): string {
  if (task.kind === 'revision') return task.baseRef;
  if (task.kind === 'check') return `${KODAH_BRANCH_PREFIX}ci-fix-${task.issueNumber}-${task.headSha!.slice(0, 7)}`;
  return `${KODAH_BRANCH_PREFIX}fix-${task.issueNumber}`;
}

async function deliverFix(ctx: RepoContext, task: GitHubTask, job: JobRecord, key: string): Promise<void> {
  const { deps, octokit, repo } = ctx;
  const result = job.result!;
  const checks = result.checks ?? [];
  const diffComment = (prUrl: string | null, intro?: string) =>
    renderDiffComment({
      key,
      jobId: job.id,
      diff: result.diff,
      explanation: result.explanation,
      filesChanged: result.filesChanged,
      checks,
      prUrl,
      evidence: result,
      ...(intro ? { intro } : {}),
    });
  if (task.delivery === 'comment') {
    await editComment(octokit, repo, task.statusCommentId!, diffComment(null));
    return;
  }

  const branch = branchFor(task);
  const closes = task.kind !== 'check' && task.originIssue !== null;
  const botLogin = await deps.api.botLogin();
  try {
    await pushFix(
      {
        repoUrl: cloneUrl(deps.settings, task.repoFullName),
        token: await deps.api.repositoryToken(task.installationId, task.repositoryId, 'write'),
        parent: job.commitSha!,
        diff: result.diff,
        branch,
        message: renderCommitMessage({ issueNumber: task.originIssue, title: task.title, explanation: result.explanation, closes }),
        author: { name: botLogin, email: `${botLogin}@users.noreply.github.com` },
        date: job.completedAt ?? job.createdAt,
        force: task.kind !== 'revision',
      },
      deps.push,
    );
  } catch (err) {
    // The branch moved under a revision: say so and hand over the diff rather than overwrite.
    if (!(err instanceof KodahError && err.code === 'conflict')) throw err;
    await editComment(octokit, repo, task.statusCommentId!, diffComment(null, `${err.message}. Here is the diff to apply by hand.`));
    return;
  }

  const pr =
    task.kind === 'revision'
      ? await revisedPullRequest(ctx, task.issueNumber)
      : await findOrOpenPullRequest(ctx, task, branch, result, closes, job.id);
  await updateTask(deps.db, task.id, { branch, prNumber: pr.number, prUrl: pr.url });
  const body =
    task.kind === 'check'
      ? diffComment(pr.url)
      : renderPullRequestDelivered({
          key,
          jobId: job.id,
          prUrl: pr.url,
          prNumber: pr.number,
          filesChanged: result.filesChanged,
          checks,
          revised: task.kind === 'revision',
          // A revision's evidence has no other place: the pull request's body tells of the first fix.
          evidence: task.kind === 'revision' ? result : null,
        });
  await editComment(octokit, repo, task.statusCommentId!, body);
}

async function revisedPullRequest({ octokit, repo }: RepoContext, number: number): Promise<{ number: number; url: string }> {
  const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: number });
  return { number, url: data.html_url };
}

/** The open pull request of the branch, or a new draft one: a retried delivery finds the first. */
async function findOrOpenPullRequest(
  { octokit, repo }: RepoContext,
  task: GitHubTask,
  branch: string,
  result: NonNullable<JobRecord['result']>,
  closes: boolean,
  jobId: string,
): Promise<{ number: number; url: string }> {
  const source = task.kind === 'check' ? `${task.trigger} in #${task.issueNumber}` : `issue #${task.issueNumber}`;
  return findOrOpenDraftPullRequest(octokit, repo, {
    branch,
    base: task.baseRef,
    title: () => (task.kind === 'check' ? `Fix ${task.title}` : `Fix #${task.issueNumber}: ${task.title}`.slice(0, 256)),
    body: () =>
      renderPullRequestBody({
        issueNumber: task.originIssue,
        closes,
        explanation: result.explanation,
        filesChanged: result.filesChanged,
        checks: result.checks ?? [],
        jobId,
        source,
        evidence: result,
      }),
  });
}
