import type { PgBoss } from 'pg-boss';
import type { ApplicationFunction } from 'probot';
import type { Database } from '../db/database.js';
import type { Logger } from '../lib/logger.js';
import { FAILED } from './handle-check-failure.js';
import { enqueueEvent } from './github-queues.js';
import { parseCommand } from './parse-command.js';

/** The few fields the intake looks at, none of them trusted to be there: it judges whatever GitHub sends. */
interface Payload {
  action?: unknown;
  sender?: { type?: unknown } | null;
  issue?: { pull_request?: unknown } | null;
  comment?: { body?: unknown } | null;
  check_run?: { conclusion?: unknown } | null;
  check_suite?: { conclusion?: unknown } | null;
  workflow_run?: { conclusion?: unknown } | null;
}

const failed = (conclusion: unknown) => typeof conclusion === 'string' && FAILED.has(conclusion);

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
    case 'check_run':
      return payload.action === 'completed' && failed(payload.check_run?.conclusion);
    case 'check_suite':
      return payload.action === 'completed' && failed(payload.check_suite?.conclusion);
    case 'workflow_run':
      return payload.action === 'completed' && failed(payload.workflow_run?.conclusion);
    default:
      return false;
  }
}

/**
 * The Probot app: Probot has verified the signature by now; an actionable delivery is recorded
 * under its X-GitHub-Delivery id and queued in one transaction, so a redelivery finds the id and
 * starts nothing, and the webhook is answered in milliseconds whatever the work takes.
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
      const queued = await deps.db.transaction(async (tx) => {
        const { rows } = await tx.query(
          'INSERT INTO github_deliveries (id, event, action) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING id',
          [context.id, context.name, payload.action ?? null],
        );
        if (rows.length === 0) return false;
        await enqueueEvent(deps.boss, tx, { delivery: context.id, event: context.name, payload });
        return true;
      });
      log.info(queued ? 'webhook queued' : 'webhook already received; ignored');
    });
  };
}
