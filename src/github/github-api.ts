import { createAppAuth } from '@octokit/auth-app';
import { request } from '@octokit/request';
import Bottleneck from 'bottleneck';
import { ProbotOctokit } from 'probot';
import type { Config } from '../config.js';
import type { Logger } from '../lib/logger.js';

export type Octokit = InstanceType<typeof ProbotOctokit>;
type GitHubSettings = Pick<NonNullable<Config['github']>, 'appId' | 'privateKey' | 'apiUrl' | 'writeIntervalMs'>;

/** Longest wait for a rate limit inside a request; past it the request fails and its queue job retries later. */
const MAX_IN_PROCESS_WAIT_S = 60;

/**
 * GitHub's REST API as the App: one client per installation, kept for the life of the process so
 * its token cache and its write limiter are shared by every job of that installation. Mutations
 * run one at a time per installation, spaced as GitHub asks of integrations, and rate limits
 * (primary and secondary) are waited out when GitHub says how long (`retry-after`, reset time).
 */
export class GitHubApi {
  readonly #settings: GitHubSettings;
  readonly #log: Logger;
  readonly #clients = new Map<number, Octokit>();
  readonly #appAuth: ReturnType<typeof createAppAuth>;
  // Keyed by installation id (the throttle id): one mutation in flight per installation.
  readonly #writes: Bottleneck.Group;
  // Writes that notify people (comments, pull requests): GitHub wants these slower still.
  readonly #notifications: Bottleneck.Group;
  #appSlug: Promise<string | null> | undefined;

  constructor(settings: GitHubSettings, log: Logger) {
    this.#settings = settings;
    this.#log = log;
    this.#appAuth = createAppAuth({
      appId: settings.appId,
      privateKey: settings.privateKey,
      request: request.defaults({ baseUrl: settings.apiUrl }),
    });
    this.#writes = new Bottleneck.Group({ maxConcurrent: 1, minTime: settings.writeIntervalMs });
    this.#notifications = new Bottleneck.Group({ maxConcurrent: 1, minTime: settings.writeIntervalMs * 3 });
  }

  /** The client for one installation. */
  installation(installationId: number): Octokit {
    let client = this.#clients.get(installationId);
    if (!client) {
      const log = this.#log.child({ installationId });
      const wait =
        (kind: string) => (retryAfter: number, options: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
          const retry = retryCount < 3 && retryAfter <= MAX_IN_PROCESS_WAIT_S;
          log.warn({ retryAfter, retry, request: `${options.method} ${options.url}` }, `GitHub ${kind} rate limit`);
          return retry;
        };
      client = new ProbotOctokit({
        authStrategy: createAppAuth,
        auth: { appId: this.#settings.appId, privateKey: this.#settings.privateKey, installationId },
        baseUrl: this.#settings.apiUrl,
        log: { debug: () => {}, info: () => {}, warn: (m: string) => log.warn(m), error: (m: string) => log.error(m) },
        throttle: {
          id: String(installationId),
          write: this.#writes,
          notifications: this.#notifications,
          onRateLimit: wait('primary'),
          onSecondaryRateLimit: wait('secondary'),
        },
      });
      this.#clients.set(installationId, client);
    }
    return client;
  }

  /**
   * A token for git over HTTPS that reaches one repository only: read for clones, write for
   * pushes. Cached by the auth library until shortly before it expires.
   */
  async repositoryToken(installationId: number, repositoryId: number, access: 'read' | 'write'): Promise<string> {
    const auth = await this.#appAuth({
      type: 'installation',
      installationId,
      repositoryIds: [repositoryId],
      permissions: { contents: access, metadata: 'read' },
    });
    return auth.token;
  }

  /** The login GitHub shows on the App's comments and pull requests, `<slug>[bot]`. */
  async botLogin(): Promise<string> {
    return `${(await this.appSlug()) ?? 'kodah'}[bot]`;
  }

  /** The App's slug (its address on GitHub, `/apps/<slug>`), asked once; null when GitHub names none. */
  appSlug(): Promise<string | null> {
    this.#appSlug ??= (async () => {
      const { token } = await this.#appAuth({ type: 'app' });
      const { data } = await request('GET /app', { baseUrl: this.#settings.apiUrl, headers: { authorization: `bearer ${token}` } });
      return data?.slug ?? null;
    })().catch((err: unknown) => {
      this.#appSlug = undefined;
      throw err;
    });
    return this.#appSlug;
  }
}
