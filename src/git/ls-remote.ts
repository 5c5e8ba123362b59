import { simpleGit } from 'simple-git';
import { KodahError } from '../lib/errors.js';
import { hardenedGitEnv } from './git-env.js';
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

const NOT_FOUND = /not found|could not read Username|Authentication failed|terminal prompts disabled|returned error: (401|403|404)|HTTP (401|403|404)|does not appear to be a git repository/i;

/**
 * simple-git refuses these settings by default to stop untrusted input from configuring git; here
 * they carry our own constant hardening (hooks off, no credential helper, protocol allow-list),
 * and no caller-supplied text reaches a config key.
 */
const HARDENING_IS_OURS = {
  allowUnsafeConfigPaths: true,
  allowUnsafeConfigEnvCount: true,
  allowUnsafeHooksPath: true,
  allowUnsafeCredentialHelper: true,
  allowUnsafeProtocolOverride: true,
} as const;

/** `git ls-remote --symref` with the hardened environment and a time limit. */
export async function lsRemote(
  target: CheckedRepoUrl,
  options: { token?: string | null; timeoutMs: number; allowHttp: boolean; signal?: AbortSignal },
): Promise<LsRemoteOutcome> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const git = simpleGit({ abort: signal, timeout: { block: options.timeoutMs }, unsafe: HARDENING_IS_OURS }).env(
    hardenedGitEnv({
      pin: target,
      token: options.token ?? null,
      allowHttp: options.allowHttp,
      lowSpeedTimeS: Math.max(1, Math.ceil(options.timeoutMs / 1000)),
    }),
  );
  try {
    const output = await git.listRemote(['--symref', target.url]);
    return { ok: true, refs: parseLsRemote(output) };
  } catch (err) {
    if (options.signal?.aborted) throw new KodahError('shutdown', 'Aborted', { cause: err, retryable: true });
    const message = err instanceof Error ? err.message : String(err);
    if (timeout.aborted) return { ok: false, reason: 'unreachable', message: `no answer within ${options.timeoutMs} ms` };
    return NOT_FOUND.test(message)
      ? { ok: false, reason: 'not_found', message }
      : { ok: false, reason: 'unreachable', message: message.trim().split('\n').slice(-1)[0] ?? message };
  }
}
