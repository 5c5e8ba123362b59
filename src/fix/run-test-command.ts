import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestOutcome {
  command: string;
  outcome: 'passed' | 'failed' | 'timeout';
  exitCode: number | null;
  /** The end of the output, where test runners put their summary. */
  outputTail: string;
  seconds: number;
}

const TAIL_BYTES = 8 * 1024;

/**
 * Runs the repository's own test command in the work tree, in a process group of its own that is
 * killed whole at the time limit. Its environment is a bare PATH and a throwaway HOME: none of
 * the server's variables (database URL, model key, tokens) reach repository code.
 */
export async function runTestCommand(worktree: string, command: string, timeoutMs: number, signal?: AbortSignal): Promise<TestOutcome> {
  const home = await mkdtemp(path.join(tmpdir(), 'kodah-test-home-'));
  const started = Date.now();
  try {
    return await new Promise<TestOutcome>((resolve, reject) => {
      const child = spawn('bash', ['-c', command], {
        cwd: worktree,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', CI: 'true', PYTHONDONTWRITEBYTECODE: '1' },
      });
      let tail = Buffer.alloc(0);
      const keep = (chunk: Buffer) => {
        tail = Buffer.concat([tail, chunk]);
        if (tail.length > TAIL_BYTES * 2) tail = tail.subarray(tail.length - TAIL_BYTES);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      let timedOut = false;
      const kill = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, timeoutMs);
      signal?.addEventListener('abort', kill, { once: true });
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', kill);
        resolve({
          command,
          outcome: timedOut ? 'timeout' : code === 0 ? 'passed' : 'failed',
          exitCode: code,
          outputTail: tail.subarray(Math.max(0, tail.length - TAIL_BYTES)).toString('utf8'),
          seconds: Math.round((Date.now() - started) / 100) / 10,
        });
      });
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
