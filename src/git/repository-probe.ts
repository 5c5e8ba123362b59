import type { Visibility } from '../billing/credits.js';
import { KodahError } from '../lib/errors.js';
import type { GitCredentials } from './credentials.js';
import { lsRemote, type RemoteRefs } from './ls-remote.js';
import { checkRepoUrl, type CheckedRepoUrl, type RepoUrlPolicy } from './url-policy.js';

export interface RepoInfo {
  target: CheckedRepoUrl;
  visibility: Visibility;
  refs: RemoteRefs;
}

export interface ResolvedRef {
  kind: 'branch' | 'tag' | 'commit';
  /** The commit, or null for an abbreviated sha that no branch or tag points at (checked at checkout). */
  sha: string | null;
}

const HEX = /^[0-9a-f]{7,40}$/i;

/** Finds a branch, tag or commit among the advertised refs; null when the ref cannot exist. */
export function resolveRef(refs: RemoteRefs, ref: string): ResolvedRef | null {
  const direct = (name: string) => refs.refs.get(name);
  if (ref === 'HEAD' && refs.head) return { kind: 'branch', sha: direct(refs.head) ?? null };
  const branch = direct(`refs/heads/${ref}`) ?? (ref.startsWith('refs/heads/') ? direct(ref) : undefined);
  if (branch) return { kind: 'branch', sha: branch };
  const tag = direct(`refs/tags/${ref}`) ?? (ref.startsWith('refs/tags/') ? direct(ref) : undefined);
  if (tag) return { kind: 'tag', sha: tag };
  if (HEX.test(ref)) {
    const lower = ref.toLowerCase();
    const tip = [...refs.refs.values()].find((sha) => sha.startsWith(lower));
    return { kind: 'commit', sha: tip ?? (lower.length === 40 ? lower : null) };
  }
  return null;
}

interface CacheEntry {
  expires: number;
  value: Promise<RepoInfo>;
}

export interface RepositoryProbeOptions {
  policy: RepoUrlPolicy;
  credentials: GitCredentials;
  timeoutMs: number;
  ttlMs: number;
  maxEntries?: number;
}

/**
 * Answers "does this repository exist, is it public, which refs does it have" with an anonymous
 * `git ls-remote` first and the configured credentials second. Answers are cached briefly per
 * repository, and concurrent questions about one repository share one ls-remote.
 */
export class RepositoryProbe {
  readonly #cache = new Map<string, CacheEntry>();
  readonly #options: RepositoryProbeOptions;

  constructor(options: RepositoryProbeOptions) {
    this.#options = options;
  }

  /** Throws invalid_input (URL policy), not_found, or repository_unavailable (network, retryable). */
  probe(rawUrl: string, options: { fresh?: boolean; signal?: AbortSignal } = {}): Promise<RepoInfo> {
    const key = rawUrl.trim();
    const now = Date.now();
    const hit = this.#cache.get(key);
    if (hit && hit.expires > now && !options.fresh) return hit.value;
    const value = this.#probe(key, options.signal);
    this.#remember(key, value);
    return value;
  }

  #remember(key: string, value: Promise<RepoInfo>): void {
    const { ttlMs, maxEntries = 1000 } = this.#options;
    if (ttlMs <= 0) return;
    this.#cache.delete(key);
    if (this.#cache.size >= maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, { expires: Date.now() + ttlMs, value });
    // A network failure says nothing lasting about the repository: forget it at once.
    value.catch((err: unknown) => {
      if (err instanceof KodahError && err.code === 'repository_unavailable') this.#cache.delete(key);
    });
  }

  async #probe(rawUrl: string, signal: AbortSignal | undefined): Promise<RepoInfo> {
    const { policy, credentials, timeoutMs } = this.#options;
    const target = await checkRepoUrl(rawUrl, policy);
    const run = (token: string | null) => lsRemote(target, { token, timeoutMs, allowHttp: policy.allowLocal, signal });
    const anonymous = await run(null);
    if (anonymous.ok) return { target, visibility: 'public', refs: anonymous.refs };
    let last = anonymous;
    if (anonymous.reason === 'not_found') {
      const token = await credentials.tokenFor(target.url);
      if (token) {
        const authed = await run(token);
        if (authed.ok) return { target, visibility: 'private', refs: authed.refs };
        last = authed;
      }
    }
    if (last.reason === 'not_found') throw new KodahError('not_found', 'Repository not found', { kind: 'input' });
    throw new KodahError('repository_unavailable', `Could not reach ${target.host}: ${last.message}`, { retryable: true });
  }
}
