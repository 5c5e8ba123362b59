import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { localGit } from './git-objects.js';
import { ensureMirror } from './mirror-cache.js';
import type { RepoUrlPolicy } from './url-policy.js';
import { KodahError } from '../lib/errors.js';

export interface CheckoutOptions {
  policy: RepoUrlPolicy;
  mirrorDir: string;
  worktreeDir: string;
  token: string | null;
  timeoutMs: number;
  maxRepoBytes: number;
  maxFiles: number;
  signal?: AbortSignal;
}

export interface Checkout {
  /** The bare mirror (shared between jobs of the same repository). */
  gitDir: string;
  /** A fresh work tree of the commit, for this attempt only. */
  dir: string;
  commit: string;
  /** Removes the work tree; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * The repository's mirror with `commit` in it: fetched (or cloned) with the hardened git of the
 * platform, the commit fetched by sha when no branch or tag holds it. The token travels in a
 * header of the fetch only: nothing is written into the mirror's config. A local repository (the
 * CLI's --repo PATH) is used as it is.
 */
export async function openMirror(
  repository: { url: string } | { gitDir: string },
  commit: string,
  options: CheckoutOptions,
): Promise<string> {
  const gitDir =
    'gitDir' in repository
      ? repository.gitDir
      : await ensureMirror(repository.url, {
          policy: options.policy,
          cacheDir: options.mirrorDir,
          token: options.token,
          timeoutMs: options.timeoutMs,
          maxBytes: options.maxRepoBytes,
          signal: options.signal,
          want: commit,
        });
  const files = (await localGit(gitDir, ['ls-tree', '-r', '--name-only', '-z', commit], { signal: options.signal })).split('\0').length - 1;
  if (files > options.maxFiles) {
    throw new KodahError(
      'invalid_input',
      `The repository has ${files} files at ${commit.slice(0, 12)}, more than the limit of ${options.maxFiles}`,
      { kind: 'input' },
    );
  }
  return gitDir;
}

/**
 * A clean, detached work tree of `commit` beside the other jobs', for one attempt. No hooks run
 * and no submodule or LFS content is fetched (LFS files stay pointers).
 */
export async function addWorktree(
  gitDir: string,
  commit: string,
  options: Pick<CheckoutOptions, 'worktreeDir' | 'timeoutMs' | 'signal'>,
): Promise<Checkout> {
  await mkdir(options.worktreeDir, { recursive: true });
  const dir = path.join(options.worktreeDir, `${commit.slice(0, 12)}-${randomBytes(6).toString('hex')}`);
  await localGit(gitDir, ['-c', 'core.hooksPath=/dev/null', 'worktree', 'add', '--detach', '--force', dir, commit], {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  let removed = false;
  return {
    gitDir,
    dir,
    commit,
    async remove() {
      if (removed) return;
      removed = true;
      await localGit(gitDir, ['worktree', 'remove', '--force', dir]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
      await localGit(gitDir, ['worktree', 'prune']).catch(() => {});
    },
  };
}
