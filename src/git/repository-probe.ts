import { KodahError } from '../lib/errors.js';
import type { GitCredentials } from './credentials.js';
import { lsRemote, type RemoteRefs } from './ls-remote.js';
import { checkRepoUrl, type CheckedRepoUrl, type RepoUrlPolicy, unreachable } from './url-policy.js';

/** Whether a repository answered without credentials: what decides which credits pay for it. */
export type Visibility = 'public' | 'private';

export interface RepoInfo {
  target: CheckedRepoUrl;
  visibility: Visibility;
  refs: RemoteRefs;
}

export interface ResolvedRef {
  kind: 'branch' | 'tag' | 'commit';
  /** The commit: advertised by the remote, or a full sha given by the caller (checked at checkout). */
  sha: string;
}

const HEX = /^[0-9a-f]{7,40}$/i;

/**
 * Finds a branch, tag or commit among the advertised refs; null when the ref is none of them.
 * A full sha is taken on trust (ls-remote shows only tips); an abbreviated one must be a tip's,
 * since nothing short of a clone could say which commit it names.
 */
export function resolveRef(refs: RemoteRefs, ref: string): ResolvedRef | null {
  const direct = (name: string) => refs.refs.get(name);
  const head = ref === 'HEAD' && refs.head ? direct(refs.head) : undefined;
  if (head) return { kind: 'branch', sha: head };
  const branch = direct(`refs/heads/${ref}`) ?? (ref.startsWith('refs/heads/') ? direct(ref) : undefined);
  if (branch) return { kind: 'branch', sha: branch };
  const tag = direct(`refs/tags/${ref}`) ?? (ref.startsWith('refs/tags/') ? direct(ref) : undefined);
  if (tag) return { kind: 'tag', sha: tag };
  if (HEX.test(ref)) {
    const lower = ref.toLowerCase();
    const tip = [...refs.refs.values()].find((sha) => sha.startsWith(lower));
    if (tip) return { kind: 'commit', sha: tip };
    if (lower.length === 40) return { kind: 'commit', sha: lower };
  }
  return null;
}

interface CacheEntry {
  expires: number;
  value: Promise<RepoInfo>;
}

/** Answers worth remembering: the repository's refs, or that it does not exist or is refused. */
const CACHEABLE_ERRORS = new Set(['not_found', 'invalid_input']);

export interface RepositoryProbeOptions {
  policy: RepoUrlPolicy;
  credentials: GitCredentials;
  timeoutMs: number;
  ttlMs: number;
  maxEntries?: number;
}

export interface ProbeOptions {
  /** Whose credentials may be used for a private repository; null for anonymous access only. */
  accountId: string | null;
  /** Ask the remote even when a cached answer is fresh enough (the answer is then cached). */
  fresh?: boolean;
  /** A probe with a signal is a worker's: it neither reads nor feeds the cache, so its abort stays its own. */
  signal?: AbortSignal;
}

/**
 * Answers "does this repository exist, is it public, which refs does it have" with an anonymous
 * `git ls-remote` first and the account's credentials second. Answers are cached briefly per
 * account and repository, and concurrent questions about one share one ls-remote. A cached
 * private answer is reused only while the account still has credentials for the repository; a
 * cached "not found" stands until it expires, even if the account gains credentials meanwhile.
 */
export class RepositoryProbe {
  readonly #cache = new Map<string, CacheEntry>();
  readonly #options: RepositoryProbeOptions;

  constructor(options: RepositoryProbeOptions) {
    this.#options = options;
  }

  /**
   * Throws invalid_input (URL policy and allow-list, checked before any network access), not_found
   * (the host answered that there is no such repository), or repository_unavailable (the host could
   * not be resolved or reached: retryable, never cached).
   */
  probe(rawUrl: string, options: ProbeOptions): Promise<RepoInfo> {
    const url = rawUrl.trim();
    if (options.signal) return this.#probe(url, options.accountId, options.signal);
    const key = `${options.accountId ?? ''} ${url}`;
    const hit = this.#cache.get(key);
    if (hit && hit.expires > Date.now() && !options.fresh) return this.#reuse(key, hit.value, url, options.accountId);
    const value = this.#probe(url, options.accountId, undefined);
    this.#remember(key, value);
    return value;
  }

  /**
   * A cached answer, except that a private repository is only as readable as the account's
   * credentials still are: when they are gone (the operator unmarked the account, the App was
   * uninstalled) the answer is dropped and the remote asked again, as if it had never been cached.
   */
  async #reuse(key: string, value: Promise<RepoInfo>, url: string, accountId: string | null): Promise<RepoInfo> {
    const info = await value;
    if (info.visibility === 'public' || !accountId) return info;
    if (await this.#options.credentials.tokenFor(info.target.url, accountId)) return info;
    if (this.#cache.get(key)?.value === value) this.#cache.delete(key);
    return this.probe(url, { accountId });
  }

  #remember(key: string, value: Promise<RepoInfo>): void {
    const { ttlMs, maxEntries = 1000 } = this.#options;
    if (ttlMs <= 0) return;
    this.#cache.delete(key);
    if (this.#cache.size >= maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, { expires: Date.now() + ttlMs, value });
    // A network failure says nothing lasting about the repository: forget it at once.
    value.catch((err: unknown) => {
      const lasting = err instanceof KodahError && CACHEABLE_ERRORS.has(err.code);
      if (!lasting && this.#cache.get(key)?.value === value) this.#cache.delete(key);
    });
  }

  async #probe(rawUrl: string, accountId: string | null, signal: AbortSignal | undefined): Promise<RepoInfo> {
    const { policy, credentials, timeoutMs } = this.#options;
    const target = await checkRepoUrl(rawUrl, policy);
    const run = (token: string | null) => lsRemote(target, { token, timeoutMs, allowHttp: policy.allowLocal, signal });
    const anonymous = await run(null);
    if (anonymous.ok) return { target, visibility: 'public', refs: anonymous.refs };
    let last = anonymous;
    if (anonymous.reason === 'not_found' && accountId) {
      const token = await credentials.tokenFor(target.url, accountId);
      if (token) {
        const authed = await run(token);
        if (authed.ok) return { target, visibility: 'private', refs: authed.refs };
        last = authed;
      }
    }
    if (last.reason === 'not_found') throw new KodahError('not_found', 'Repository not found', { kind: 'input' });
    throw unreachable(target.host, `git said: ${last.message}`);
  }
}
