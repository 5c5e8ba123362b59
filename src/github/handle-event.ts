import { handleCheckFailure } from './handle-check-failure.js';
import { handleIssueComment } from './handle-command.js';
import { handleInstallation, handleInstallationRepositories } from './handle-installation.js';
import { handleIssueLabeled } from './handle-issue-label.js';
import type { GitHubDeps } from './github-deps.js';
import type { GitHubEventData } from './github-queues.js';

/** One queued webhook delivery, handled by the handler of its event. */
export async function handleGitHubEvent(deps: GitHubDeps, data: GitHubEventData): Promise<void> {
  const { delivery, event, payload } = data;
  switch (event) {
    case 'installation':
      return handleInstallation(deps, payload);
    case 'installation_repositories':
      return handleInstallationRepositories(deps, payload);
    case 'issues':
      return handleIssueLabeled(deps, delivery, payload);
    case 'issue_comment':
      return handleIssueComment(deps, delivery, payload);
    case 'check_run':
    case 'check_suite':
    case 'workflow_run':
      return handleCheckFailure(deps, delivery, event, payload);
  }
}
