import type { GitHubDeps } from './github-deps.js';
import { coveringAccount } from './installations.js';
import { describeIssue } from './issue-thread.js';
import { issueLabeledPayload } from './payloads.js';
import { hasWriteAccess, readRepoSettingsAt, repoName } from './repo-access.js';
import { startTask } from './start-task.js';
import { taskIdFor } from './tasks.js';

/**
 * issues.labeled: the fix label (`kodah-fix`, or the repository's own name for it) added to an
 * issue by someone who can push starts a fix of the default branch. Anything else costs nothing.
 */
export async function handleIssueLabeled(deps: GitHubDeps, delivery: string, raw: unknown): Promise<void> {
  const payload = issueLabeledPayload.parse(raw);
  const { issue, repository, sender } = payload;
  const log = deps.log.child({ delivery, repo: repository.full_name, issue: issue.number });
  if (issue.pull_request || sender.type === 'Bot') return;
  const accountId = await coveringAccount(deps.db, payload.installation.id, repository);
  if (!accountId) return log.info('installation suspended or deleted; label ignored');
  const octokit = deps.api.installation(payload.installation.id);
  const repo = repoName(repository.full_name);
  const defaultBranch = repository.default_branch ?? (await octokit.rest.repos.get(repo)).data.default_branch;
  const settings = await readRepoSettingsAt(octokit, repo, defaultBranch);
  const label = settings.label ?? deps.settings.label;
  if (payload.label.name !== label) return;
  if (!(await hasWriteAccess(octokit, repo, sender.login))) {
    return log.info({ sender: sender.login }, 'label added by a user without write access; ignored');
  }
  await startTask(
    deps,
    {
      id: taskIdFor(delivery),
      installationId: payload.installation.id,
      repositoryId: repository.id,
      repoFullName: repository.full_name,
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
