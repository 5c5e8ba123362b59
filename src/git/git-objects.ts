import { launch } from '../lib/launch.js';
import { DRIVER_PROGRAM_KEYS, driverOverrides, LOCAL_GIT_ENV, localGitEnv } from './git-env.js';
import { runGit } from './run-git.js';

/** One file of a commit's tree. */
export interface TreeFile {
  path: string;
  /** The blob's sha: the content address by which everything derived from the file is cached. */
  sha: string;
  size: number;
}

/**
 * The environment for any git command on a repository on disk: LOCAL_GIT_ENV plus an empty
 * program for every filter, diff and merge driver the repository's config defines (includes and
 * worktree config too, as git reads them). Sound as long as nothing can rewrite that config
 * between this read and the command: no sandboxed process may outlive its run.
 */
export async function repositoryGitEnv(gitDir: string, signal?: AbortSignal): Promise<Record<string, string>> {
  const run = await runGit(['--git-dir', gitDir, 'config', '-z', '--get-regexp', DRIVER_PROGRAM_KEYS], {
    env: LOCAL_GIT_ENV,
    timeoutMs: 30_000,
    maxOutputBytes: 1024 * 1024,
    signal,
  });
  // 1: no such key. Anything else (a config git cannot parse) would fail the command too.
  if (run.code === 1 && !run.stdout) return localGitEnv();
  if (run.code !== 0) throw new Error(`git config failed: ${run.stderr.trim() || run.killed}`);
  return localGitEnv(driverOverrides(run.stdout));
}

/**
 * Runs git on a local repository and returns its output; throws with git's message on failure.
 * No program the repository's config names runs (see repositoryGitEnv).
 */
export async function localGit(
  gitDir: string,
  args: string[],
  options: {
    timeoutMs?: number;
    maxOutputBytes?: number;
    signal?: AbortSignal;
    /**
     * repositoryGitEnv(gitDir), read for commands that run back to back with nothing between them
     * that could write the config (no sandboxed command runs meanwhile); read here otherwise.
     */
    env?: Record<string, string>;
  } = {},
): Promise<string> {
  const run = await runGit(['--git-dir', gitDir, ...args], {
    env: options.env ?? (await repositoryGitEnv(gitDir, options.signal)),
    timeoutMs: options.timeoutMs ?? 120_000,
    maxOutputBytes: options.maxOutputBytes ?? 512 * 1024 * 1024,
    signal: options.signal,
  });
  if (run.code !== 0) throw new Error(`git ${args[0]} failed: ${run.stderr.trim() || run.killed}`);
  return run.stdout;
}

/** Resolves a ref (branch, tag, sha) of a local repository to a commit sha. */
export async function resolveCommit(gitDir: string, ref: string): Promise<string> {
  const run = await runGit(['--git-dir', gitDir, 'rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`], {
    env: LOCAL_GIT_ENV,
    timeoutMs: 30_000,
  });
  if (run.code !== 0) throw new Error(`${ref} is not a commit of ${gitDir}: ${run.stderr.trim()}`);
  return run.stdout.trim();
}

/** Every blob of the commit's tree (submodules and symlinks left out). */
export async function listTree(gitDir: string, commit: string): Promise<TreeFile[]> {
  const run = await runGit(['--git-dir', gitDir, 'ls-tree', '-r', '-z', '--long', '--end-of-options', commit], {
    env: LOCAL_GIT_ENV,
    timeoutMs: 60_000,
    maxOutputBytes: 512 * 1024 * 1024,
  });
  if (run.code !== 0) throw new Error(`git ls-tree failed: ${run.stderr.trim()}`);
  const files: TreeFile[] = [];
  for (const entry of run.stdout.split('\0')) {
    // "<mode> blob <sha> <size>\t<path>"
    const tab = entry.indexOf('\t');
    if (tab < 0) continue;
    const [mode, type, sha, size] = entry.slice(0, tab).split(/\s+/);
    if (type !== 'blob' || mode === '120000' || !sha) continue;
    // A blob the clone lacks (a partial or damaged mirror) is listed with size "-".
    files.push({ path: entry.slice(tab + 1), sha, size: Number(size) || 0 });
  }
  return files;
}

/**
 * Reads blobs by sha through one `git cat-file --batch`; resolves to sha → content. Started by the
 * launcher like any other git (lib/launch.ts): each search reads its new files here, and a fork of
 * the server itself cost 15–50 ms, growing with its memory. For no blobs, no git at all.
 */
export function readBlobs(gitDir: string, shas: readonly string[]): Promise<Map<string, Buffer>> {
  if (shas.length === 0) return Promise.resolve(new Map());
  return new Promise((resolve, reject) => {
    const child = launch({
      file: 'git',
      args: ['--git-dir', gitDir, 'cat-file', '--batch'],
      env: LOCAL_GIT_ENV,
      stdin: Buffer.from(shas.map((s) => `${s}\n`).join('')),
      stdout: true,
      stderr: true,
    });
    const blobs = new Map<string, Buffer>();
    let pending: Buffer = Buffer.alloc(0);
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        const nl = pending.indexOf(10);
        if (nl < 0) return;
        const header = pending.subarray(0, nl).toString();
        const [sha, type, sizeText] = header.split(' ');
        if (type === 'missing') {
          pending = pending.subarray(nl + 1);
          continue;
        }
        const size = Number(sizeText);
        if (pending.length < nl + 1 + size + 1) return;
        blobs.set(sha!, Buffer.from(pending.subarray(nl + 1, nl + 1 + size)));
        pending = pending.subarray(nl + 1 + size + 1);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code: number | null) => (code === 0 ? resolve(blobs) : reject(new Error(`git cat-file failed: ${stderr.trim()}`))));
  });
}
