import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { addWorktree } from '../git/checkout.js';
import { hardenedGitEnv } from '../git/git-env.js';
import { ensureMirror } from '../git/mirror-cache.js';
import { runGit } from '../git/run-git.js';
import { repositoryGitEnv } from '../git/git-objects.js';
import { scratchName } from '../lib/scratch-name.js';
import { checkRepoUrl, type RepoUrlPolicy } from '../git/url-policy.js';
import { KodahError } from '../lib/errors.js';

export interface PushSettings {
  policy: RepoUrlPolicy;
  mirrorDir: string;
  worktreeDir: string;
  timeoutMs: number;
  maxRepoBytes: number;
}

export interface PushFixInput {
  repoUrl: string;
  /** A token that may write to this one repository. */
  token: string;
  /** The commit the fix was made on. */
  parent: string;
  diff: string;
  branch: string;
  message: string;
  author: { name: string; email: string };
  /** Author and committer date: fixed (the job's completion), so a retried push makes the same commit. */
  date: Date;
  /** Move the branch wherever it was (Kodah's own fix branches); otherwise only fast-forward it. */
  force: boolean;
}

/**
 * Commits a fix on top of its parent and pushes it to a branch. The commit is a pure function of
 * its inputs (tree, parent, author, dates, message), so a retry after a crash makes the same sha
 * and the push changes nothing. Throws `conflict` when the branch moved and may not be forced.
 */
export async function pushFix(input: PushFixInput, settings: PushSettings): Promise<{ sha: string }> {
  const target = await checkRepoUrl(input.repoUrl, settings.policy);
  const gitDir = await ensureMirror(target.url, {
    policy: settings.policy,
    cacheDir: settings.mirrorDir,
    token: input.token,
    timeoutMs: settings.timeoutMs,
    maxBytes: settings.maxRepoBytes,
    want: input.parent,
  });
  const worktree = await addWorktree(gitDir, input.parent, { worktreeDir: settings.worktreeDir, timeoutMs: settings.timeoutMs });
  const patchDir = path.join(settings.worktreeDir, scratchName(`patch-${randomBytes(6).toString('hex')}`));
  try {
    // apply and commit run the repository's filter drivers unless they are blanked like every local git's.
    const localEnv = await repositoryGitEnv(gitDir);
    const local = async (args: string[], env: Record<string, string> = {}) => {
      const run = await runGit(args, { cwd: worktree.dir, env: { ...localEnv, ...env }, timeoutMs: settings.timeoutMs });
      if (run.code !== 0) throw new KodahError('internal', `git ${args[0]} failed: ${run.stderr.trim() || run.killed}`);
      return run.stdout.trim();
    };
    await mkdir(patchDir, { recursive: true });
    const patch = path.join(patchDir, 'fix.diff');
    await writeFile(patch, input.diff.endsWith('\n') ? input.diff : `${input.diff}\n`);
    await local(['apply', '--index', '--whitespace=nowarn', patch]);
    const date = `${Math.floor(input.date.getTime() / 1000)} +0000`;
    await local(['-c', 'commit.gpgSign=false', 'commit', '--quiet', '--no-verify', '-m', input.message], {
      GIT_AUTHOR_NAME: input.author.name,
      GIT_AUTHOR_EMAIL: input.author.email,
      GIT_COMMITTER_NAME: input.author.name,
      GIT_COMMITTER_EMAIL: input.author.email,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
    });
    const sha = await local(['rev-parse', 'HEAD']);
    const env = hardenedGitEnv({ pin: target, token: input.token, allowHttp: settings.policy.allowLocal });
    const refspec = `${input.force ? '+' : ''}${sha}:refs/heads/${input.branch}`;
    const pushed = await runGit(['--git-dir', gitDir, 'push', '--porcelain', '--', target.url, refspec], {
      env,
      timeoutMs: settings.timeoutMs,
    });
    if (pushed.code !== 0) {
      const output = `${pushed.stdout}\n${pushed.stderr}`;
      if (/\[rejected\]|non-fast-forward|fetch first|stale info/i.test(output)) {
        throw new KodahError('conflict', `The branch ${input.branch} moved on since the fix was made; it was not overwritten`, {
          kind: 'input',
        });
      }
      throw new KodahError('repository_unavailable', `git push to ${target.url} failed: ${pushed.stderr.trim() || pushed.killed}`, {
        retryable: true,
      });
    }
    return { sha };
  } finally {
    await worktree.remove();
    await rm(patchDir, { recursive: true, force: true });
  }
}
