import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { worktreeGit } from '../git/worktree-git.js';
import type { SandboxCommand } from '../jobs/fix-engine.js';
import type { Sandbox, SandboxLimits } from '../sandbox/sandbox.js';
import type { SetupCache } from '../sandbox/setup-cache.js';
import { safeTarget } from './safe-path.js';
import { sandboxCommand } from './sandbox-command.js';

export interface SetupRequest {
  /** The repository's `setup` commands (joined with &&). */
  setup: string;
  /** Files whose contents key the cache (lockfiles). */
  cacheKeyFiles: readonly string[];
  /** Whose environment it is: tenants never share one. */
  repoUrl: string;
  accountId: string;
  /** Container image, when the driver uses one. */
  image?: string;
  limits: SandboxLimits;
  network: boolean;
  signal: AbortSignal;
}

export interface PreparedEnvironment {
  ok: boolean;
  command: SandboxCommand;
  /** Paths in the work tree that setup made: never part of a diff, kept between attempts. */
  paths: string[];
}

/**
 * Runs the repository's `setup` once in the sandbox, or copies in what an earlier job with the
 * same key prepared. What setup made in the work tree (a `.venv`, `*.egg-info`) is found with git
 * (new untracked and ignored paths) and kept apart from the fix.
 */
export async function prepareEnvironment(
  sandbox: Sandbox,
  worktree: string,
  cache: SetupCache | null,
  request: SetupRequest,
): Promise<PreparedEnvironment> {
  const key = await cacheKey(worktree, sandbox.driver, request);
  const started = performance.now();
  if (cache && sandbox.hostHome) {
    const paths = await cache.restore(key, worktree, sandbox.hostHome);
    if (paths) {
      return {
        ok: true,
        paths,
        command: {
          phase: 'setup',
          command: request.setup,
          sandbox: sandbox.driver,
          exitCode: 0,
          limit: null,
          seconds: Math.round(performance.now() - started) / 1000,
          outputTail: `Prepared environment restored from the cache (${paths.length} paths).`,
          cached: true,
        },
      };
    }
  }
  const run = await sandbox.run(request.setup, { limits: request.limits, network: request.network, signal: request.signal });
  const command = sandboxCommand('setup', sandbox, run);
  if (run.exitCode !== 0) return { ok: false, command, paths: [] };
  const paths = await newPaths(worktree);
  if (cache && sandbox.hostHome) await cache.save(key, worktree, paths, sandbox.hostHome);
  return { ok: true, command, paths };
}

/** Untracked and ignored paths at the top of what git shows (`.venv/`, not every file in it). */
async function newPaths(worktree: string): Promise<string[]> {
  const out = await worktreeGit(worktree, ['status', '--porcelain=v1', '-z', '--ignored=matching', '--untracked-files=normal']);
  return out
    .split('\0')
    .filter((entry) => entry.startsWith('?? ') || entry.startsWith('!! '))
    .map((entry) => entry.slice(3).replace(/\/$/, ''));
}

async function cacheKey(worktree: string, driver: string, request: SetupRequest): Promise<string> {
  const files: Array<[string, string | null]> = [];
  for (const file of request.cacheKeyFiles) {
    const target = await safeTarget(worktree, file);
    const content = 'path' in target ? await readFile(target.path).catch(() => null) : null;
    files.push([file, content ? createHash('sha256').update(content).digest('hex') : null]);
  }
  const identity = { repo: request.repoUrl, account: request.accountId, setup: request.setup, driver, image: request.image ?? null, files };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32);
}

/** git pathspecs and clean patterns that leave the prepared environment alone. */
export function keepOut(paths: readonly string[]): { pathspecs: string[]; cleanExcludes: string[] } {
  return {
    pathspecs: paths.map((p) => `:(exclude,literal)${p}`),
    cleanExcludes: paths.flatMap((p) => ['-e', `/${p.replace(/[\\*?[\]!#]/g, '\\$&')}`]),
  };
}
