import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { GitCredentials } from '../git/credentials.js';
import type { GitHubApi } from './github-api.js';
import { installationCredentials } from './installation-credentials.js';
import type { FastifyPluginAsync } from 'fastify';
import { type NodeMiddleware, webhookRoute } from './webhook-route.js';

export type GitHubSettings = NonNullable<Config['github']>;

/** One App running in this process. */
export interface EnabledGitHubApp {
  settings: GitHubSettings;
  api: GitHubApi;
  /** Verifies and takes its webhook deliveries. */
  webhooks: NodeMiddleware;
  /** Its queue workers; null in a process without workers. */
  workers: { stop(): void } | null;
}

/**
 * The GitHub App of this process, or none yet. The webhook route, the git credentials and the
 * pages consult it at each use rather than being wired once, so an App registered at /setup works
 * at once, without a restart. It is set at most once: an App is never swapped under running jobs.
 */
export class GitHubAppHolder {
  #app: EnabledGitHubApp | null = null;

  get app(): EnabledGitHubApp | null {
    return this.#app;
  }

  enable(app: EnabledGitHubApp): void {
    if (this.#app) throw new Error('a GitHub App is already enabled in this process');
    this.#app = app;
  }

  /** Installation tokens of the App's installations (see installationCredentials), none while there is no App. */
  credentials(db: Database): GitCredentials {
    return {
      tokenFor: async (repoUrl, accountId) => {
        const app = this.#app;
        return app ? installationCredentials(db, app.api, app.settings.webUrl).tokenFor(repoUrl, accountId) : null;
      },
    };
  }

  /** Stops the App's housekeeping (its queue workers stop with the queue). */
  stop(): void {
    this.#app?.workers?.stop();
  }
}

/** The webhook endpoint, there whether or not an App is configured: it answers 404 until the holder has one. */
export function gitHubWebhookRoutes(holder: GitHubAppHolder): FastifyPluginAsync {
  return webhookRoute(() => holder.app?.webhooks ?? null);
}
