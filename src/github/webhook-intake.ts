import type { PgBoss } from 'pg-boss';
import type { ApplicationFunction } from 'probot';
import type { Database } from '../db/database.js';
import type { Logger } from '../lib/logger.js';
import { FAILED } from './handle-check-failure.js';
import { enqueueEvent } from './github-queues.js';
import { pushesDefaultBranch } from './handle-push.js';
import { isKodahBranch } from './kodah-branch.js';
import { parseCommand } from './parse-command.js';

/** The few fields the intake looks at, none of them trusted to be there: it judges whatever GitHub sends. */
interface Payload {
  action?: unknown;
  sender?: { type?: unknown } | null;
  issue?: { pull_request?: unknown } | null;
  comment?: { body?: unknown; pull_request_review_id?: unknown } | null;
  review?: { id?: unknown; state?: unknown; body?: unknown } | null;
  pull_request?: { head?: { ref?: unknown } | null } | null;
  repository?: { id?: unknown } | null;
  check_run?: { conclusion?: unknown } | null;
  check_suite?: { conclusion?: unknown } | null;
  workflow_run?: { conclusion?: unknown } | null;
}

const failed = (conclusion: unknown) => typeof conclusion === 'string' && FAILED.has(conclusion);

/** A review that asks for something: changes requested, or a comment with words in it. */
function reviewAsks(review: Payload['review']): boolean {
  if (review?.state === 'changes_requested') return true;
  return review?.state === 'commented' && typeof review.body === 'string' && review.body.trim() !== '';
}

/**
 * The key every delivery of one review shares: the review itself, and each of its inline comments
 * (GitHub sends one pull_request_review and one pull_request_review_comment per inline comment).
 * The first of them to arrive claims it and is queued; its handler reads the whole review, so the
 * others are recorded and start nothing: one review, one job.
 */
function reviewClaim(event: string, payload: Payload): string | null {
  const reviewId = event === 'pull_request_review' ? payload.review?.id : payload.comment?.pull_request_review_id;
  const repositoryId = payload.repository?.id;
  if (typeof reviewId !== 'number' || typeof repositoryId !== 'number') return null;
  return `review:${repositoryId}:${reviewId}`;
}

/**
 * Whether a delivery may lead to work, judged from the payload alone (no database, no GitHub):
 * everything else is answered at once and forgotten. Permissions and settings are checked later,
 * away from the request.
 */
function isActionable(event: string, payload: Payload): boolean {
  const bot = payload.sender?.type === 'Bot';
  switch (event) {
    case 'installation':
    case 'installation_repositories':
      return true;
    case 'issues':
      return payload.action === 'labeled' && !payload.issue?.pull_request && !bot;
    case 'issue_comment':
      return (
        payload.action === 'created' && !bot && typeof payload.comment?.body === 'string' && parseCommand(payload.comment.body) !== null
      );
    // Reviews of Kodah's own pull requests only: its branches say so (the handler checks the task row).
    case 'pull_request_review':
      return payload.action === 'submitted' && !bot && isKodahBranch(payload.pull_request?.head?.ref) && reviewAsks(payload.review);
    case 'pull_request_review_comment':
      return payload.action === 'created' && !bot && isKodahBranch(payload.pull_request?.head?.ref) && reviewClaim(event, payload) !== null;
    case 'check_run':
      return payload.action === 'completed' && failed(payload.check_run?.conclusion);
    case 'check_suite':
      return payload.action === 'completed' && failed(payload.check_suite?.conclusion);
    case 'workflow_run':
      return payload.action === 'completed' && failed(payload.workflow_run?.conclusion);
    // Re-indexes the repository where Kodah indexes it (handle-push.ts); other pushes cost nothing.
    case 'push':
      return pushesDefaultBranch(payload);
    default:
      return false;
  }
}

/**
 * The Probot app: Probot has verified the signature by now; an actionable delivery is recorded
 * under its X-GitHub-Delivery id and queued in one transaction, so a redelivery finds the id and
 * starts nothing, and the webhook is answered in milliseconds whatever the work takes. A review's
 * deliveries also claim the review (reviewClaim) in the same table, so only the first is queued.
 */
export function webhookIntake(deps: { db: Database; boss: PgBoss; log: Logger }): ApplicationFunction {
  return (app) => {
    app.onAny(async (context) => {
      const payload = context.payload as Record<string, unknown> & Payload;
      const log = deps.log.child({ delivery: context.id, event: context.name, action: payload.action });
      if (!isActionable(context.name, payload)) {
        log.debug('webhook ignored');
        return;
      }
      const outcome = await deps.db.transaction(async (tx) => {
        const record = (id: string, action: unknown) =>
          tx.query('INSERT INTO github_deliveries (id, event, action) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING id', [
            id,
            context.name,
            action ?? null,
          ]);
        if ((await record(context.id, payload.action)).rows.length === 0) return 'webhook already received; ignored';
        const claim = context.name.startsWith('pull_request_review') ? reviewClaim(context.name, payload) : null;
        if (claim && (await record(claim, 'claim')).rows.length === 0)
          return 'another delivery of this review was queued; it covers this one';
        await enqueueEvent(deps.boss, tx, { delivery: context.id, event: context.name, payload });
        return 'webhook queued';
      });
      log.info(outcome);
    });
  };
}
