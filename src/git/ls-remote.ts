import { KodahError } from '../lib/errors.js';
import { hardenedGitEnv } from './git-env.js';
import { runGit } from './run-git.js';
import type { CheckedRepoUrl } from './url-policy.js';

/** The refs a remote advertises: full ref name → commit sha (tags peeled), and HEAD's target. */
export interface RemoteRefs {
  refs: Map<string, string>;
  head: string | null;
}

export function parseLsRemote(output: string): RemoteRefs {
  const refs = new Map<string, string>();
  let head: string | null = null;
  for (const line of output.split('\n')) {
    const [left, name] = line.split('\t');
    if (!left || !name) continue;
    if (left.startsWith('ref: ')) {
      if (name === 'HEAD') head = left.slice(5);
      continue;
    }
    // Annotated tags appear twice; the peeled "^{}" line names the commit.
    if (name.endsWith('^{}')) refs.set(name.slice(0, -3), left);
    else if (!refs.has(name)) refs.set(name, left);
  }
  return { refs, head };
}

export type LsRemoteOutcome = { ok: true; refs: RemoteRefs } | { ok: false; reason: 'not_found' | 'unreachable'; message: string };

// What a host says of a repository that does not exist or is not ours to read. 403 and 429 are
// not here: GitHub answers them for rate limits, which is a failure of ours, not a missing repository.
const NOT_FOUND =
  /Repository not found|repository '[^']*' not found|could not read Username|Authentication failed|terminal prompts disabled|returned error: (401|404)|HTTP (401|404)|does not appear to be a git repository|is this a git repository/i;

/** `git ls-remote --symref` with the hardened environment and a time limit. */
export async function lsRemote(
  target: CheckedRepoUrl,
  options: { token?: string | null; timeoutMs: number; allowHttp: boolean; signal?: AbortSignal },
): Promise<LsRemoteOutcome> {
  const env = hardenedGitEnv({
    pin: target,
    token: options.token ?? null,
    allowHttp: options.allowHttp,
    lowSpeedTimeS: Math.max(1, Math.ceil(options.timeoutMs / 1000)),
  });
  // "--" ends the options: the URL can never be read as one.
  const run = await runGit(['ls-remote', '--symref', '--', target.url], {
    env,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    maxOutputBytes: 32 * 1024 * 1024,
  });
  if (run.killed === 'aborted') throw new KodahError('shutdown', 'Aborted', { retryable: true });
  if (run.killed === 'timeout') return { ok: false, reason: 'unreachable', message: `no answer within ${options.timeoutMs} ms` };
  if (run.killed === 'output-limit') return { ok: false, reason: 'unreachable', message: 'the remote advertised too many refs' };
  if (run.code === 0) return { ok: true, refs: parseLsRemote(run.stdout) };
  const message = run.stderr.trim().split('\n').filter(Boolean).at(-1) ?? `git exited with ${run.code}`;
  return NOT_FOUND.test(run.stderr) ? { ok: false, reason: 'not_found', message } : { ok: false, reason: 'unreachable', message };
}
