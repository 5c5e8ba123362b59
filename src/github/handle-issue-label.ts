import type { RepoEventContext } from './event-context.js';
import { coveringAccount } from './installations.js';
import { describeIssue } from './issue-thread.js';
import { issueLabeledPayload } from './payloads.js';
import { hasWriteAccess, readRepoSettingsAt } from './repo-access.js';
import { startTask } from './start-task.js';
import { taskIdFor } from './tasks.js';

/**
 * issues.labeled: the fix label (`kodah-fix`, or the repository's own name for it) added to an
 * issue by someone who can push starts a fix of the default branch. Anything else costs nothing.
 */
export async function handleIssueLabeled(ctx: RepoEventContext, raw: unknown): Promise<void> {
  const { deps, octokit, repo } = ctx;
  const payload = issueLabeledPayload.parse(raw);
  const { issue, repository, sender } = payload;
  const log = ctx.log.child({ issue: issue.number });
  if (issue.pull_request || sender.type === 'Bot') return;
  const accountId = await coveringAccount(deps.db, ctx.installationId, repository);
  if (!accountId) return log.info('installation suspended or deleted; label ignored');
  const defaultBranch = repository.default_branch ?? (await octokit.rest.repos.get(repo)).data.default_branch;
  const settings = await readRepoSettingsAt(octokit, repo, defaultBranch);
  const label = settings.label ?? deps.settings.label;
  if (payload.label.name !== label) return;
  if (!(await hasWriteAccess(octokit, repo, sender.login))) {
    return log.info({ sender: sender.login }, 'label added by a user without write access; ignored');
  }
  await startTask(
    ctx,
    {
      id: taskIdFor(ctx.delivery),
      repositoryId: repository.id,
      kind: 'issue',
      title: issue.title,
      issueNumber: issue.number,
      originIssue: issue.number,
      baseRef: defaultBranch,
      headSha: null,
      delivery: settings.delivery ?? 'pull_request',
      trigger: `the \`${label}\` label added by @${sender.login}`,
    },
    { accountId, description: await describeIssue(octokit, repo, issue), ref: defaultBranch, reactTo: { issue: issue.number } },
  );
}
