import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
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
  /** Stop the clone or fetch, and remove what it wrote, once the mirror grows past this. */
  maxBytes?: number;
  /**
   * A commit the caller needs: when no branch or tag holds it (a pull request's head, a commit
   * of a deleted branch), it is fetched by sha.
   */
  want?: string;
}

/** Bytes of all files under a folder (a clone in progress: its packs and temporary packs). */
async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    total += await stat(path.join(entry.parentPath, entry.name)).then(
      (s) => s.size,
      () => 0,
    );
  }
  return total;
}

function tooLarge(url: string, maxBytes: number): KodahError {
  return new KodahError('invalid_input', `${url} is larger than the limit of ${Math.round(maxBytes / 1024 / 1024)} MB`, { kind: 'input' });
}

/** Aborts `controller` when `dir` grows past maxBytes; checked twice a second while git runs. */
function watchSize(dir: string, maxBytes: number | undefined, controller: AbortController): { over: () => boolean; stop: () => void } {
  let over = false;
  if (!maxBytes) return { over: () => false, stop: () => {} };
  const timer = setInterval(() => {
    void folderBytes(dir).then((bytes) => {
      if (bytes > maxBytes && !over) {
        over = true;
        controller.abort();
      }
    });
  }, 500);
  return { over: () => over, stop: () => clearInterval(timer) };
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
  const run = async (args: string[], watched: string) => {
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    const size = watchSize(watched, options.maxBytes, controller);
    try {
      const result = await runGit(args, { env, timeoutMs: options.timeoutMs, signal });
      if (size.over() || (options.maxBytes && result.code === 0 && (await folderBytes(watched)) > options.maxBytes)) {
        return { ...result, tooLarge: true };
      }
      return { ...result, tooLarge: false };
    } finally {
      size.stop();
    }
  };
  if (existsSync(path.join(dir, 'HEAD'))) {
    const fetched = await run(
      [
        '--git-dir',
        dir,
        'fetch',
        '--quiet',
        '--prune',
        '--no-recurse-submodules',
        '--',
        target.url,
        '+refs/heads/*:refs/heads/*',
        '+refs/tags/*:refs/tags/*',
      ],
      dir,
    );
    if (fetched.tooLarge) {
      await rm(dir, { recursive: true, force: true });
      throw tooLarge(target.url, options.maxBytes!);
    }
    if (fetched.code !== 0)
      throw new KodahError('repository_unavailable', `git fetch of ${target.url} failed: ${fetched.stderr.trim() || fetched.killed}`, {
        retryable: true,
      });
    return fetchWanted(dir);
  }
  await mkdir(options.cacheDir, { recursive: true });
  // Clone beside the final place and rename: a clone cut short never looks like a mirror.
  const partial = `${dir}.partial-${process.pid}-${Date.now()}`;
  const cloned = await run(['clone', '--bare', '--quiet', '--no-recurse-submodules', '--', target.url, partial], partial);
  if (cloned.code !== 0 || cloned.tooLarge) {
    await rm(partial, { recursive: true, force: true });
    if (cloned.tooLarge) throw tooLarge(target.url, options.maxBytes!);
    throw new KodahError('repository_unavailable', `git clone of ${target.url} failed: ${cloned.stderr.trim() || cloned.killed}`, {
      retryable: true,
    });
  }
  await rename(partial, dir).catch(async (err: NodeJS.ErrnoException) => {
    // Another process finished the same clone first: use theirs.
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(path.join(dir, 'HEAD'))) throw err;
  });
  return fetchWanted(dir);

  async function fetchWanted(gitDir: string): Promise<string> {
    const want = options.want;
    if (!want) return gitDir;
    const has = await run(['--git-dir', gitDir, 'cat-file', '-e', `${want}^{commit}`], gitDir);
    if (has.code === 0) return gitDir;
    const fetched = await run(['--git-dir', gitDir, 'fetch', '--quiet', '--no-recurse-submodules', '--', target.url, want], gitDir);
    if (fetched.code === 0) return gitDir;
    if (/not our ref|couldn't find remote ref|no such remote ref|unadvertised object/i.test(fetched.stderr)) {
      throw new KodahError('ref_not_found', `Commit ${want} is not in ${target.url}`, { kind: 'input' });
    }
    throw new KodahError(
      'repository_unavailable',
      `git fetch of ${want} from ${target.url} failed: ${fetched.stderr.trim() || fetched.killed}`,
      { retryable: true },
    );
  }
}
