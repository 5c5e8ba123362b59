import { eventContext } from './event-context.js';
import { handleCheckFailure } from './handle-check-failure.js';
import { handleIssueComment } from './handle-command.js';
import { handleInstallation, handleInstallationRepositories } from './handle-installation.js';
import { handleIssueLabeled } from './handle-issue-label.js';
import { handlePush } from './handle-push.js';
import { handleReview } from './handle-review.js';
import type { GitHubDeps } from './github-deps.js';
import type { GitHubEventData } from './github-queues.js';
import { installationTarget, repositoryTarget } from './payloads.js';

/** One queued webhook delivery, handled by the handler of its event within the event's one context. */
export async function handleGitHubEvent(deps: GitHubDeps, data: GitHubEventData): Promise<void> {
  const { delivery, event, payload } = data;
  // A payload without these cannot be acted on: the parse error drops it (github-app.ts).
  const forInstallation = () => eventContext(deps, { delivery, installationId: installationTarget.parse(payload).installation.id });
  const forRepository = () => {
    const target = repositoryTarget.parse(payload);
    return eventContext(deps, { delivery, installationId: target.installation.id, fullName: target.repository.full_name });
  };
  switch (event) {
    case 'installation':
      return handleInstallation(forInstallation(), payload);
    case 'installation_repositories':
      return handleInstallationRepositories(forInstallation(), payload);
    case 'issues':
      return handleIssueLabeled(forRepository(), payload);
    case 'issue_comment':
      return handleIssueComment(forRepository(), payload);
    case 'pull_request_review':
    case 'pull_request_review_comment':
      return handleReview(forRepository(), event, payload);
    case 'check_run':
    case 'check_suite':
    case 'workflow_run':
      return handleCheckFailure(forRepository(), event, payload);
    case 'push':
      return handlePush(forRepository(), payload);
  }
}
