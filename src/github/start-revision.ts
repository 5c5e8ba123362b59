import { getJobById } from '../jobs/job-lifecycle.js';
import { activeTask } from './active-task.js';
import type { RepoEventContext } from './event-context.js';
import { renderRefused } from './render-comment.js';
import { buildRevisionDescription } from './revision-description.js';
import { startTask, type StartTaskInput } from './start-task.js';
import { firstTaskOfPullRequest, type GitHubTask, taskIdFor } from './tasks.js';

/** A maintainer's request to revise Kodah's pull request, and how to answer them. */
export interface RevisionRequest {
  accountId: string;
  repositoryId: number;
  /** The newest task whose pull request this is: Kodah's own (taskOfPullRequest). */
  own: GitHubTask;
  prNumber: number;
  /** Who asked, and how: "`/kodah fix` on this pull request by @alice", "a review by @alice". */
  trigger: string;
  /** What the maintainer asks for, as they wrote it (sanitised and capped here). */
  request: string;
  reactTo?: StartTaskInput['reactTo'];
  /** Answers the maintainer in a comment of its own when the revision cannot start. */
  reply(body: (key: string) => string): Promise<void>;
}

/**
 * A revision of Kodah's own pull request: a job on the pull request's head whose fix becomes a new
 * commit on its branch (deliver-task.ts), told what the maintainer asks, what the bug was, and
 * what the previous fix did (the earlier transcript summary). The task id is the delivery's, so
 * a retried or redelivered event finds the task and job it made instead of making new ones.
 */
export async function startRevision(ctx: RepoEventContext, r: RevisionRequest): Promise<void> {
  const { deps, octokit, repo } = ctx;
  const taskId = taskIdFor(ctx.delivery);
  const active = await activeTask(deps.db, r.repositoryId, r.prNumber, taskId);
  if (active) {
    await r.reply((key) =>
      renderRefused({
        key,
        code: 'job_in_progress',
        reason: `A fix is already in progress here (job \`${active.id}\`). Once it is done, comment \`/kodah fix <what to change>\`; or use \`/kodah cancel\` to stop it first.`,
        reasonAdvises: true,
      }),
    );
    return;
  }
  const { data: pr } = await octokit.rest.pulls.get({ ...repo, pull_number: r.prNumber });
  if (pr.state !== 'open' || pr.head.repo?.id !== r.repositoryId) {
    await r.reply((key) =>
      renderRefused({ key, code: 'not_found', reason: 'This pull request is closed or its branch is gone; there is nothing to revise.' }),
    );
    return;
  }
  const first = await firstTaskOfPullRequest(deps.db, r.repositoryId, r.prNumber);
  const [original, previous] = await Promise.all([first && getJobById(deps.db, first.id), getJobById(deps.db, r.own.id)]);
  const description = buildRevisionDescription({
    original: original?.description ?? previous?.description ?? `Pull request #${r.prNumber}: ${r.own.title}`,
    prNumber: r.prNumber,
    branch: pr.head.ref,
    request: r.request,
    previous: previous ? { jobId: previous.id, result: previous.result } : null,
  });
  await startTask(
    ctx,
    {
      id: taskId,
      repositoryId: r.repositoryId,
      trigger: r.trigger,
      kind: 'revision',
      title: r.own.title,
      issueNumber: r.prNumber,
      originIssue: r.own.originIssue,
      baseRef: pr.head.ref,
      headSha: pr.head.sha,
      delivery: 'pull_request',
    },
    { accountId: r.accountId, description, ref: pr.head.sha, ...(r.reactTo ? { reactTo: r.reactTo } : {}) },
  );
}
