import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { Clock } from '../lib/clock.js';
import { KodahError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SignInConfig } from './github-oauth.js';
import { forgetUserTokens, userToken } from './user-token.js';

/** A repository the signed-in user reaches through an installation of the App. */
export interface ReachableRepository {
  fullName: string;
  repositoryId: number;
  installationId: number;
  private: boolean;
  htmlUrl: string;
}

export interface ReachableInstallation {
  id: number;
  /** The user or organisation the App is installed on. */
  account: string;
  /** 'all' or 'selected': whether the owner gave the App every repository or a list. */
  repositorySelection: string;
  repositories: ReachableRepository[];
}

/** What GitHub says the account's user can reach, as of `checkedAt`. */
export interface UserReach {
  installations: ReachableInstallation[];
  /** The App's slug, when an installation named it (for the "install on more repositories" link). */
  appSlug: string | null;
  checkedAt: Date;
}

export interface UserInstallationsOptions {
  db: Database;
  /** Seals the stored user tokens. */
  key: Buffer;
  signIn: SignInConfig;
  /** Only this App's installations count (a token of the App's client lists no others, but the check is cheap). */
  appId: number | null;
  /** How long an answer is reused; 0 asks GitHub every time. */
  ttlMs: number;
  clock: Clock;
  log: Logger;
  maxEntries?: number;
  /** Items per page asked of GitHub (default and most GitHub gives: 100). */
  perPage?: number;
}

const TIMEOUT_MS = 10_000;
/** Enough for 10,000 installations and 10,000 repositories an installation; past that, the rest is left out. */
const MAX_PAGES = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const installationsPage = z.object({
  installations: z.array(
    z.object({
      id: z.number().int().positive(),
      app_id: z.number().int().optional(),
      app_slug: z
        .string()
        .regex(/^[A-Za-z0-9-]+$/)
        .optional(),
      account: z.object({ login: z.string().min(1) }).nullable(),
      repository_selection: z.string().optional(),
    }),
  ),
});
const repositoriesPage = z.object({
  repositories: z.array(
    z.object({
      id: z.number().int().positive(),
      // Any name GitHub sends is listed (escaped, like everything shown); a clone only ever
      // matches the sane names git/github-full-name.ts parses out of a URL.
      full_name: z.string().min(1).max(300),
      private: z.boolean(),
      html_url: z.string(),
    }),
  ),
});

/** GitHub answered 401: the user revoked the App, or the token is otherwise dead. */
class Revoked extends Error {}

interface Entry {
  expires: number;
  value: Promise<UserReach | null>;
}

/**
 * What a signed-in user can reach through installations of the App, asked of GitHub with the
 * user's own token (`GET /user/installations`, `GET /user/installations/{id}/repositories`, every
 * page) and reused for a short while per account, so that access a user loses on GitHub is lost
 * here within `ttlMs`. A token GitHub refuses (401) is dropped with everything it reached.
 */
export class UserInstallations {
  readonly #options: UserInstallationsOptions;
  readonly #cache = new Map<string, Entry>();

  constructor(options: UserInstallationsOptions) {
    this.#options = options;
  }

  /** Null when the account has no usable GitHub token (never signed in, signed out, revoked). */
  reach(accountId: string): Promise<UserReach | null> {
    if (!UUID.test(accountId)) return Promise.resolve(null);
    const now = this.#options.clock.now().getTime();
    const hit = this.#cache.get(accountId);
    if (hit && hit.expires > now) return hit.value;
    const value = this.#ask(accountId);
    if (this.#options.ttlMs > 0) {
      const { maxEntries = 10_000 } = this.#options;
      this.#cache.delete(accountId);
      if (this.#cache.size >= maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(accountId, { expires: now + this.#options.ttlMs, value });
      // A failure says nothing lasting: the next question asks again.
      value.catch(() => {
        if (this.#cache.get(accountId)?.value === value) this.#cache.delete(accountId);
      });
    }
    return value;
  }

  /** The repository `owner/name` (any case), when the account's user reaches it through an installation. */
  async find(accountId: string, fullName: string): Promise<ReachableRepository | null> {
    const reach = await this.reach(accountId);
    const wanted = fullName.toLowerCase();
    for (const installation of reach?.installations ?? []) {
      const repo = installation.repositories.find((r) => r.fullName.toLowerCase() === wanted);
      if (repo) return repo;
    }
    return null;
  }

  /** Forgets the account's answer: on sign-in, sign-out, and when its token is refused. */
  forget(accountId: string): void {
    this.#cache.delete(accountId);
  }

  async #ask(accountId: string): Promise<UserReach | null> {
    const { db, key, signIn, appId, log, clock } = this.#options;
    const token = await userToken(db, accountId, { key, signIn });
    if (!token) return null;
    try {
      const installations: ReachableInstallation[] = [];
      let appSlug: string | null = null;
      for (const item of await this.#list(token, '/user/installations', installationsPage, (p) => p.installations)) {
        if (appId !== null && item.app_id !== undefined && item.app_id !== appId) continue;
        appSlug ??= item.app_slug ?? null;
        const repositories = await this.#list(
          token,
          `/user/installations/${item.id}/repositories`,
          repositoriesPage,
          (p) => p.repositories,
        );
        installations.push({
          id: item.id,
          account: item.account?.login ?? '',
          repositorySelection: item.repository_selection ?? 'selected',
          repositories: (repositories ?? []).map((r) => ({
            fullName: r.full_name,
            repositoryId: r.id,
            installationId: item.id,
            private: r.private,
            htmlUrl: r.html_url,
          })),
        });
      }
      return { installations, appSlug, checkedAt: clock.now() };
    } catch (err) {
      if (!(err instanceof Revoked)) throw err;
      // Revoked on GitHub: the stored token goes, and with it every repository it reached.
      await forgetUserTokens(db, accountId);
      this.forget(accountId);
      log.info({ accountId }, 'GitHub refused the user token (revoked): dropped it and the access it gave');
      return null;
    }
  }

  /**
   * Every item of a paginated list, following `Link: rel="next"` on the API's own origin only (the
   * user's token goes nowhere else). An installation GitHub will not list (403/404: suspended,
   * removed meanwhile) has no repositories; the first list answering so has no installations.
   */
  async #list<P, T>(token: string, path: string, schema: z.ZodType<P>, items: (page: P) => T[]): Promise<T[]> {
    const apiOrigin = new URL(this.#options.signIn.apiUrl).origin;
    let url: string | null = `${this.#options.signIn.apiUrl}${path}?per_page=${this.#options.perPage ?? 100}`;
    const out: T[] = [];
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const res = await this.#get(url, token);
      if (res.status === 401) throw new Revoked();
      if (res.status === 403 || res.status === 404) return out;
      const parsed = schema.safeParse(res.body);
      if (res.status !== 200 || !parsed.success) {
        throw new KodahError('repository_unavailable', `GitHub's ${path} answered ${res.status} with an unexpected body`, {
          retryable: true,
        });
      }
      out.push(...items(parsed.data));
      const next = nextLink(res.link);
      const resolved: URL | null = next ? new URL(next, url) : null;
      url = resolved && resolved.origin === apiOrigin ? resolved.toString() : null;
    }
    return out;
  }

  async #get(url: string, token: string): Promise<{ status: number; body: unknown; link: string | null }> {
    let res: Response;
    try {
      res = await fetch(url, {
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${token}`,
          'x-github-api-version': '2022-11-28',
          'user-agent': 'kodah',
        },
        signal: AbortSignal.timeout(TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (err) {
      throw new KodahError('repository_unavailable', `GitHub did not answer (${(err as Error).message})`, { cause: err, retryable: true });
    }
    const text = await res.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // left null: the schema check names the status
    }
    return { status: res.status, body, link: res.headers.get('link') };
  }
}

/** The rel="next" URL of a Link header. */
function nextLink(header: string | null): string | null {
  for (const part of (header ?? '').split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (match) return match[1]!;
  }
  return null;
}
