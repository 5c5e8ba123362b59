import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { type GitCredentials, staticCredentials } from '../git/credentials.js';
import { ensureMirror } from '../git/mirror-cache.js';

/** Whether a --repo argument is a URL (scheme://…) rather than a local path. */
export function isRepoUrl(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo);
}

/**
 * The operator's tokens for the operator's own commands (`kodah fix`, `kodah localize`): the
 * operator may always use them. The server's accounts may only when marked (see app.ts).
 */
export function operatorCredentials(config: Config): GitCredentials {
  return staticCredentials(config.git.tokens, async () => true);
}

/** A --repo argument as a git directory: a local path as it is, a URL through the mirror cache. */
export async function localGitDir(repo: string, config: Config): Promise<string> {
  if (isRepoUrl(repo)) {
    return ensureMirror(repo, {
      policy: { allowedHosts: config.git.allowedHosts, allowLocal: config.git.allowLocal },
      cacheDir: config.index.mirrorDir,
      token: await operatorCredentials(config).tokenFor(repo, 'operator'),
      timeoutMs: 10 * 60_000,
    });
  }
  const dir = path.resolve(repo);
  return existsSync(path.join(dir, '.git')) ? path.join(dir, '.git') : dir;
}
