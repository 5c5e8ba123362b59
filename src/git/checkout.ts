import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { localGit } from './git-objects.js';
import { ensureMirror } from './mirror-cache.js';
import type { RepoUrlPolicy } from './url-policy.js';
import { KodahError } from '../lib/errors.js';
import { scratchName } from '../lib/scratch-name.js';

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

const MB = 1024 * 1024;

/**
 * Entries and blob bytes of `ls-tree -r -l -z` output ("<mode> <type> <sha> <size>\t<path>\0"):
 * submodules (commits) count as files of no size, as do blobs the mirror lacks (size "-").
 */
export function treeSize(listing: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of listing.split('\0')) {
    const tab = entry.indexOf('\t');
    if (tab < 0) continue;
    files++;
    const [, type, , size] = entry.slice(0, tab).split(/\s+/);
    if (type === 'blob') bytes += Number(size) || 0;
  }
  return { files, bytes };
}

/**
 * The repository's mirror with `commit` in it: fetched (or cloned) with the hardened git of the
 * platform, the commit fetched by sha when no branch or tag holds it. The token travels in a
 * header of the fetch only: nothing is written into the mirror's config. A local repository (the
 * CLI's --repo PATH) is used as it is. Fails as an input error, before any work tree is written,
 * when the commit has more files than maxFiles or its files add up to more than maxRepoBytes.
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
  // The tree's listing with each blob's size (from its object header; 30 ms for sympy's 2,000
  // files): a small mirror can hold a huge checkout (200 MB of zeros packs into 1 MB), so the
  // files are weighed against the mirror's limit before anything is written.
  const listing = await localGit(gitDir, ['ls-tree', '-r', '-l', '-z', '--end-of-options', commit], { signal: options.signal });
  const { files, bytes } = treeSize(listing);
  if (files > options.maxFiles) {
    throw new KodahError(
      'invalid_input',
      `The repository has ${files} files at ${commit.slice(0, 12)}, more than the limit of ${options.maxFiles}`,
      { kind: 'input' },
    );
  }
  if (bytes > options.maxRepoBytes) {
    throw new KodahError(
      'invalid_input',
      `The repository's files at ${commit.slice(0, 12)} add up to ${Math.round((bytes / MB) * 10) / 10} MB, more than the limit of ${Math.round(options.maxRepoBytes / MB)} MB`,
      { kind: 'input' },
    );
  }
  return gitDir;
}

/**
 * A clean, detached work tree of `commit` beside the other jobs', for one attempt. No hooks,
 * filters or other programs from config run (localGit) and no submodule or LFS content is
 * fetched (LFS files stay pointers). openMirror has checked the commit's size.
 */
export async function addWorktree(
  gitDir: string,
  commit: string,
  options: Pick<CheckoutOptions, 'worktreeDir' | 'timeoutMs' | 'signal'>,
): Promise<Checkout> {
  await mkdir(options.worktreeDir, { recursive: true });
  // Named for this process, so that a worker starting after a crash knows what it may remove.
  const dir = path.join(options.worktreeDir, scratchName(`${commit.slice(0, 12)}-${randomBytes(6).toString('hex')}`));
  await localGit(gitDir, ['worktree', 'add', '--detach', '--force', dir, commit], {
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
