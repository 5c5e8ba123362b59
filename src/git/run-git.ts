import { launch } from '../lib/launch.js';

export interface RunGitOptions {
  env: Record<string, string>;
  cwd?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Stop reading (and kill git) past this much output. */
  maxOutputBytes?: number;
}

export interface RunGitResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why git was stopped before it finished on its own, if it was. */
  killed: 'timeout' | 'aborted' | 'output-limit' | null;
}

/**
 * Runs git in a process group of its own, so that a timeout or an abort kills the helpers it
 * spawned too: `git-remote-https` outlives a killed `git` and keeps waiting on a stalled server.
 */
export function runGit(args: string[], options: RunGitOptions): Promise<RunGitResult> {
  const { env, cwd, timeoutMs, signal, maxOutputBytes = 64 * 1024 * 1024 } = options;
  return new Promise((resolve, reject) => {
    const child = launch({ file: 'git', args, env, cwd, detached: true, stdout: true, stderr: true });
    let killed: RunGitResult['killed'] = null;
    let exited = false;
    const kill = (why: NonNullable<RunGitResult['killed']>) => {
      if (killed || exited) return;
      killed = why;
      child.killGroup('SIGKILL');
    };
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxOutputBytes) kill('output-limit');
      else into.push(chunk);
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));
    const timer = setTimeout(() => kill('timeout'), timeoutMs);
    const onAbort = () => kill('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    child.on('error', (err: Error) => {
      exited = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (code: number | null) => {
      exited = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), killed });
    });
  });
}
