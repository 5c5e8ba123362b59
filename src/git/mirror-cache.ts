import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KodahError } from '../lib/errors.js';
import { hardenedGitEnv } from './git-env.js';
import { runGit } from './run-git.js';
import { checkRepoUrl, type RepoUrlPolicy } from './url-policy.js';

export interface MirrorOptions {
  policy: RepoUrlPolicy;
  /** Where mirrors live: one bare repository per remote URL. */
  cacheDir: string;
  token?: string | null;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * A bare mirror of a remote repository on local disk, fetched when present and cloned when not,
 * with the hardened git environment (checked and pinned URL, no hooks, https only, token in a
 * header). Resolves to the mirror's git directory.
 */
export async function ensureMirror(rawUrl: string, options: MirrorOptions): Promise<string> {
  const target = await checkRepoUrl(rawUrl, options.policy);
  const env = hardenedGitEnv({ pin: target, token: options.token, allowHttp: options.policy.allowLocal });
  const dir = path.join(options.cacheDir, createHash('sha256').update(target.url).digest('hex').slice(0, 32));
  const run = (args: string[]) => runGit(args, { env, timeoutMs: options.timeoutMs, signal: options.signal });
  if (existsSync(path.join(dir, 'HEAD'))) {
    const fetched = await run(['--git-dir', dir, 'fetch', '--quiet', '--prune', '--no-recurse-submodules', '--', target.url, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*']);
    if (fetched.code === 0) return dir;
    throw new KodahError('repository_unavailable', `git fetch of ${target.url} failed: ${fetched.stderr.trim() || fetched.killed}`, { retryable: true });
  }
  await mkdir(options.cacheDir, { recursive: true });
  // Clone beside the final place and rename: a clone cut short never looks like a mirror.
  const partial = `${dir}.partial-${process.pid}-${Date.now()}`;
  const cloned = await run(['clone', '--bare', '--quiet', '--no-recurse-submodules', '--', target.url, partial]);
  if (cloned.code !== 0) {
    await rm(partial, { recursive: true, force: true });
    throw new KodahError('repository_unavailable', `git clone of ${target.url} failed: ${cloned.stderr.trim() || cloned.killed}`, { retryable: true });
  }
  await rename(partial, dir).catch(async (err: NodeJS.ErrnoException) => {
    // Another process finished the same clone first: use theirs.
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(path.join(dir, 'HEAD'))) throw err;
  });
  return dir;
}
