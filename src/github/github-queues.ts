import type { PgBoss } from 'pg-boss';
import type { Queryable } from '../db/database.js';
import type { QueueSpec } from '../db/queue-spec.js';

/** Webhook deliveries worth acting on, handled away from the HTTP request that brought them. */
export const GITHUB_EVENT_QUEUE = 'kodah-github-event';
/** Status-comment updates and final answers, one at a time per task (the `singleton` policy). */
export const GITHUB_DELIVER_QUEUE = 'kodah-github-deliver';

export interface GitHubEventData {
  delivery: string;
  event: string;
  payload: Record<string, unknown>;
}

/** `final`: the job settled, answer it; otherwise show the job's current stage. */
export interface GitHubDeliverData {
  taskId: string;
  final: boolean;
}

/** GitHub's outages and rate limits last minutes: retries back off up to ten minutes apart. */
export function gitHubQueueSpecs(): QueueSpec[] {
  const common = { retryLimit: 12, retryDelay: 5, retryBackoff: true, retryDelayMax: 600, expireInSeconds: 600 } as const;
  return [
    { name: GITHUB_EVENT_QUEUE, options: { ...common, policy: 'standard' } },
    { name: GITHUB_DELIVER_QUEUE, options: { ...common, policy: 'singleton' } },
  ];
}

export async function enqueueEvent(boss: PgBoss, tx: Queryable, data: GitHubEventData): Promise<void> {
  await boss.send(GITHUB_EVENT_QUEUE, data, { db: tx.boss });
}

export async function enqueueDelivery(boss: PgBoss, data: GitHubDeliverData, tx?: Queryable): Promise<void> {
  // The final answer goes before stage updates still waiting for the same task.
  await boss.send(GITHUB_DELIVER_QUEUE, data, { singletonKey: data.taskId, priority: data.final ? 1 : 0, ...(tx ? { db: tx.boss } : {}) });
}
