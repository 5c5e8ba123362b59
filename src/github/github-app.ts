import type { PgBoss } from 'pg-boss';
import { createNodeMiddleware, Probot } from 'probot';
import type { CodeSearch } from '../code-index/code-search.js';
import type { Config } from '../config.js';
import type { RepositoryProbe } from '../git/repository-probe.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../lib/logger.js';
import { deliverTask } from './deliver-task.js';
import { GitHubApi } from './github-api.js';
import type { GitHubDeps } from './github-deps.js';
import { GITHUB_DELIVER_QUEUE, GITHUB_EVENT_QUEUE, type GitHubDeliverData, type GitHubEventData } from './github-queues.js';
import { handleGitHubEvent } from './handle-event.js';
import type { EnabledGitHubApp, GitHubSettings } from './github-app-holder.js';
import { type NodeMiddleware, WEBHOOK_PATH } from './webhook-route.js';
import { isPermanent } from './permanent-error.js';
import { webhookIntake } from './webhook-intake.js';

/** Verifying and taking one App's deliveries: Probot checks the signature with its secret, the intake records and queues. */
export async function gitHubWebhooks(settings: GitHubSettings, deps: { db: Database; boss: PgBoss; log: Logger }): Promise<NodeMiddleware> {
  const log = deps.log.child({ name: 'github' });
  const probot = new Probot({
    appId: settings.appId,
    privateKey: settings.privateKey,
    secret: settings.webhookSecret,
    baseUrl: settings.apiUrl,
    log: log as never,
  });
  return createNodeMiddleware(webhookIntake({ ...deps, log }), { probot, webhooksPath: WEBHOOK_PATH });
}

/** The App's handlers' dependencies, from the process's shared ones. */
export function gitHubDeps(
  config: Config,
  settings: GitHubSettings,
  parts: Pick<GitHubDeps, 'db' | 'boss' | 'api' | 'log' | 'submit' | 'onSettled'> & { probe: RepositoryProbe; search: CodeSearch },
): GitHubDeps {
  const { db, boss, probe, search } = parts;
  return {
    db,
    boss,
    api: parts.api,
    settings,
    log: parts.log.child({ name: 'github' }),
    submit: parts.submit,
    codeIndex: { db, boss, probe, search, maxRepositories: config.index.maxRepositories },
    push: {
      policy: { allowedHosts: config.git.allowedHosts, allowLocal: config.git.allowLocal },
      mirrorDir: config.index.mirrorDir,
      worktreeDir: config.fix.worktreeDir,
      timeoutMs: config.index.timeoutS * 1000,
      maxRepoBytes: config.index.maxRepoBytes,
    },
    onSettled: parts.onSettled,
  };
}

/**
 * Starts one App in this process: its API client, its webhook verification and, with `workers`,
 * the workers of its queues. The same path at start (App from the environment or the data folder)
 * and after /setup registered one.
 */
export async function startGitHubApp(
  config: Config,
  settings: GitHubSettings,
  parts: Pick<GitHubDeps, 'db' | 'boss' | 'log' | 'submit' | 'onSettled'> & { probe: RepositoryProbe; search: CodeSearch },
  workers: boolean,
): Promise<EnabledGitHubApp> {
  const api = new GitHubApi(settings, parts.log.child({ name: 'github' }));
  const webhooks = await gitHubWebhooks(settings, parts);
  const started = workers ? await startGitHubWorkers(gitHubDeps(config, settings, { ...parts, api }), config.worker.concurrency) : null;
  return { settings, api, webhooks, workers: started };
}

/** GitHub redelivers on request for a few days; a month of delivery ids is plenty to refuse repeats. */
const KEEP_DELIVERIES_DAYS = 30;

/** Workers for queued webhook deliveries and for status updates and answers; stop() ends the housekeeping. */
export async function startGitHubWorkers(deps: GitHubDeps, concurrency: number): Promise<{ stop(): void }> {
  const prune = setInterval(() => {
    deps.db
      .query(`DELETE FROM github_deliveries WHERE received_at < now() - $1 * interval '1 day'`, [KEEP_DELIVERIES_DAYS])
      .catch((err: unknown) => deps.log.warn({ err }, 'pruning old webhook deliveries failed'));
  }, 3_600_000);
  prune.unref();
  const run = async <T>(what: string, data: T, handle: (data: T) => Promise<void>) => {
    try {
      await handle(data);
    } catch (err) {
      if (isPermanent(err)) {
        deps.log.warn(
          { err, data: what === 'event' ? { ...(data as GitHubEventData), payload: undefined } : data },
          `GitHub ${what} dropped`,
        );
        return;
      }
      deps.log.warn({ err }, `GitHub ${what} failed; the queue retries it`);
      throw err;
    }
  };
  await deps.boss.work<GitHubEventData>(
    GITHUB_EVENT_QUEUE,
    { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 2 },
    async ([job]) => {
      if (job) await run('event', job.data, (d) => handleGitHubEvent(deps, d));
    },
  );
  await deps.boss.work<GitHubDeliverData>(
    GITHUB_DELIVER_QUEUE,
    { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 2 },
    async ([job]) => {
      if (job) await run('delivery', job.data, (d) => deliverTask(deps, d));
    },
  );
  return { stop: () => clearInterval(prune) };
}

export { GitHubApi };
