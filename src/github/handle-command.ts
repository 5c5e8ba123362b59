import { cancelJob, getJobById } from '../jobs/job-lifecycle.js';
import { KodahError } from '../lib/errors.js';
import { activeTask } from './active-task.js';
import { findOrCreateComment, reactEyes } from './comments.js';
import type { RepoEventContext } from './event-context.js';
import { coveringAccount } from './installations.js';
import { describeIssue } from './issue-thread.js';
import { parseCommand } from './parse-command.js';
import { issueCommentPayload } from './payloads.js';
import { renderHelp, renderRefused } from './render-comment.js';
import { hasWriteAccess, readRepoSettingsAt } from './repo-access.js';
import { startRevision } from './start-revision.js';
import { startTask } from './start-task.js';
import { latestTask, type NewTask, taskIdFor, taskOfPullRequest } from './tasks.js';

/** The event's context, with what the command's handlers share. */
interface CommandContext extends RepoEventContext {
  accountId: string;
  payload: ReturnType<typeof issueCommentPayload.parse>;
  /** Answers the command in a comment of its own (found again, not repeated, on a retry). */
  reply(body: (key: string) => string): Promise<void>;
}

/**
 * issue_comment.created: `/kodah fix [context]`, `/kodah retry`, `/kodah cancel`, `/kodah help`
 * from someone who can push, on an issue or on one of Kodah's own pull requests.
 */
export async function handleIssueComment(ctx: RepoEventContext, raw: unknown): Promise<void> {
  const { deps, octokit, repo } = ctx;
  const payload = issueCommentPayload.parse(raw);
  const { comment, repository, sender } = payload;
  const command = parseCommand(comment.body);
  if (!command || sender.type === 'Bot') return;
  const log = ctx.log.child({ issue: payload.issue.number, command: command.name });
  const accountId = await coveringAccount(deps.db, ctx.installationId, repository);
  if (!accountId) return log.info('installation suspended or deleted; command ignored');
  if (!(await hasWriteAccess(octokit, repo, sender.login))) {
    return log.info({ sender: sender.login }, 'command from a user without write access; ignored');
  }
  const context: CommandContext = {
    ...ctx,
    accountId,
    payload,
    async reply(body) {
      const key = `reply:${comment.id}`;
      await findOrCreateComment(octokit, repo, payload.issue.number, key, body(key), await deps.api.botLogin());
    },
  };
  if (command.name !== 'fix' && command.name !== 'retry') await reactEyes(octokit, repo, { commentId: comment.id });
  switch (command.name) {
    case 'help':
    case 'unknown':
      return context.reply(() => renderHelp(deps.settings.label));
    case 'cancel':
      return cancel(context);
    case 'retry':
      return retry(context);
    case 'fix':
      return payload.issue.pull_request ? revise(context, command.context) : fixIssue(context, command.context);
  }
}

async function settingsOf(c: CommandContext) {
  const branch = c.payload.repository.default_branch ?? (await c.octokit.rest.repos.get(c.repo)).data.default_branch;
  return { branch, settings: await readRepoSettingsAt(c.octokit, c.repo, branch) };
}

/** The thread's task whose job is still waiting or running, if any (not this event's own, on a retry). */
const activeTaskOf = (c: CommandContext) => activeTask(c.deps.db, c.payload.repository.id, c.payload.issue.number, taskIdFor(c.delivery));

async function refuseWhileActive(c: CommandContext): Promise<boolean> {
  const active = await activeTaskOf(c);
  if (!active) return false;
  await c.reply((key) =>
    renderRefused({
      key,
      code: 'job_in_progress',
      reason: `A fix is already in progress here (job \`${active.id}\`). Use \`/kodah cancel\` to stop it first.`,
      reasonAdvises: true,
    }),
  );
  return true;
}

function baseTask(c: CommandContext, trigger: string): Pick<NewTask, 'id' | 'repositoryId' | 'trigger'> {
  return {
    id: taskIdFor(c.delivery),
    repositoryId: c.payload.repository.id,
    trigger: `${trigger} by @${c.payload.sender.login}`,
  };
}

async function fixIssue(c: CommandContext, extra: string, trigger = '`/kodah fix`'): Promise<void> {
  if (await refuseWhileActive(c)) return;
  const { issue } = c.payload;
  const { branch, settings } = await settingsOf(c);
  await startTask(
    c,
    {
      ...baseTask(c, trigger),
      kind: 'issue',
      title: issue.title,
      issueNumber: issue.number,
      originIssue: issue.number,
      baseRef: branch,
      headSha: null,
      delivery: settings.delivery ?? 'pull_request',
    },
    {
      accountId: c.accountId,
      description: await describeIssue(c.octokit, c.repo, issue, extra),
      ref: branch,
      reactTo: { commentId: c.payload.comment.id },
    },
  );
}

/** `/kodah fix …` on Kodah's own pull request: a new commit on its branch, made from the pull request's head. */
async function revise(c: CommandContext, extra: string): Promise<void> {
  const { issue, repository, sender } = c.payload;
  const own = await taskOfPullRequest(c.deps.db, repository.id, issue.number);
  if (!own) {
    await c.reply((key) =>
      renderRefused({
        key,
        code: 'invalid_input',
        reason: 'Kodah revises only the pull requests it opened. To fix a bug, label an issue or comment `/kodah fix` on it.',
        reasonAdvises: true,
      }),
    );
    return;
  }
  await startRevision(c, {
    accountId: c.accountId,
    repositoryId: repository.id,
    own,
    prNumber: issue.number,
    trigger: `\`/kodah fix\` on this pull request by @${sender.login}`,
    request: extra,
    reactTo: { commentId: c.payload.comment.id },
    reply: c.reply,
  });
}

/** `/kodah retry`: the thread's last fix again, with the issue read afresh. */
async function retry(c: CommandContext): Promise<void> {
  const latest = await latestTask(c.deps.db, c.payload.repository.id, c.payload.issue.number);
  if (!latest) {
    await c.reply((key) =>
      renderRefused({
        key,
        code: 'not_found',
        reason: 'There is no earlier fix here to retry. Use `/kodah fix [more context]` to start one.',
        reasonAdvises: true,
      }),
    );
    return;
  }
  if (latest.kind === 'issue') return fixIssue(c, '', '`/kodah retry`');
  if (latest.kind === 'revision') return revise(c, '');
  if (await refuseWhileActive(c)) return;
  const description = (await getJobById(c.deps.db, latest.id))?.description;
  if (!description) throw new KodahError('not_found', `The job of task ${latest.id} is gone`, { kind: 'input' });
  await startTask(
    c,
    {
      ...baseTask(c, '`/kodah retry`'),
      kind: latest.kind,
      title: latest.title,
      issueNumber: latest.issueNumber,
      originIssue: latest.originIssue,
      baseRef: latest.baseRef,
      headSha: latest.headSha,
      delivery: latest.delivery,
    },
    { accountId: c.accountId, description, ref: latest.headSha ?? latest.baseRef, reactTo: { commentId: c.payload.comment.id } },
  );
}

/** `/kodah cancel`: stops the thread's waiting or running fix (a waiting one gets its credit back). */
async function cancel(c: CommandContext): Promise<void> {
  const active = await activeTaskOf(c);
  if (!active) {
    await c.reply((key) => renderRefused({ key, code: 'not_found', reason: 'There is no fix in progress here to cancel.' }));
    return;
  }
  try {
    await cancelJob(c.deps.db, active.id, c.accountId, { running: true, onSettled: c.deps.onSettled });
  } catch (err) {
    // Settled between the look and the cancel: its answer is on its way.
    if (!(err instanceof KodahError && (err.code === 'conflict' || err.code === 'not_found'))) throw err;
  }
}
