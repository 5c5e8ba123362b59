import type { FastifyPluginAsync } from 'fastify';
import type { PgBoss } from 'pg-boss';
import { createNodeMiddleware, Probot } from 'probot';
import { ZodError } from 'zod';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { JobSettled } from '../jobs/job-lifecycle.js';
import { KodahError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { deliverTask } from './deliver-task.js';
import { GitHubApi } from './github-api.js';
import type { GitHubDeps } from './github-deps.js';
import { ensureGitHubQueues, enqueueDelivery, GITHUB_DELIVER_QUEUE, GITHUB_EVENT_QUEUE, type GitHubDeliverData, type GitHubEventData } from './github-queues.js';
import { handleGitHubEvent } from './handle-event.js';
import { WEBHOOK_PATH, webhookRoute } from './webhook-route.js';
import { webhookIntake } from './webhook-intake.js';

/** Failures no retry can cure: a payload without what Kodah reads, a refusal, a 4xx that is not a limit. */
function isPermanent(err: unknown): boolean {
  if (err instanceof ZodError) return true;
  if (err instanceof KodahError) return err.kind === 'input' && !err.retryable;
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500 && ![403, 408, 409, 429].includes(status);
}

/** Hooks the job lifecycle calls for jobs GitHub started: their progress and their answer. */
export function gitHubJobHooks(boss: PgBoss, log: Logger): { onSettled: JobSettled; onStage: (job: { id: string; source: string }, stage: string) => void } {
  const lastStage = new Map<string, string>();
  return {
    async onSettled(tx, job) {
      if (job.source !== 'github') return;
      lastStage.delete(job.id);
      await enqueueDelivery(boss, { taskId: job.id, final: true }, tx);
    },
    onStage(job, stage) {
      // Progress within a stage is not worth a comment edit.
      if (job.source !== 'github' || lastStage.get(job.id) === stage) return;
      lastStage.set(job.id, stage);
      if (lastStage.size > 10_000) lastStage.delete(lastStage.keys().next().value!);
      enqueueDelivery(boss, { taskId: job.id, final: false }).catch((err: unknown) => log.warn({ err, jobId: job.id }, 'could not queue a status update'));
    },
  };
}

/** The webhook endpoint: Probot verifies signatures, the intake records and queues. */
export async function gitHubWebhookRoutes(settings: NonNullable<Config['github']>, deps: { db: Database; boss: PgBoss; log: Logger }): Promise<FastifyPluginAsync> {
  const log = deps.log.child({ name: 'github' });
  const probot = new Probot({
    appId: settings.appId,
    privateKey: settings.privateKey,
    secret: settings.webhookSecret,
    baseUrl: settings.apiUrl,
    log: log as never,
  });
  const middleware = await createNodeMiddleware(webhookIntake({ ...deps, log }), { probot, webhooksPath: WEBHOOK_PATH });
  return webhookRoute(middleware);
}

/** Workers for queued webhook deliveries and for status updates and answers. */
export async function startGitHubWorkers(deps: GitHubDeps, concurrency: number): Promise<void> {
  await ensureGitHubQueues(deps.boss);
  const run = async <T>(what: string, data: T, handle: (data: T) => Promise<void>) => {
    try {
      await handle(data);
    } catch (err) {
      if (isPermanent(err)) {
        deps.log.warn({ err, data: what === 'event' ? { ...(data as GitHubEventData), payload: undefined } : data }, `GitHub ${what} dropped`);
        return;
      }
      deps.log.warn({ err }, `GitHub ${what} failed; the queue retries it`);
      throw err;
    }
  };
  await deps.boss.work<GitHubEventData>(GITHUB_EVENT_QUEUE, { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 2 }, async ([job]) => {
    if (job) await run('event', job.data, (d) => handleGitHubEvent(deps, d));
  });
  await deps.boss.work<GitHubDeliverData>(GITHUB_DELIVER_QUEUE, { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 2 }, async ([job]) => {
    if (job) await run('delivery', job.data, (d) => deliverTask(deps, d));
  });
}

export { GitHubApi };
