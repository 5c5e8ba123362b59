import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { type LimitedSpawn, runLimited } from './run-limited.js';
import type { RunOptions, SandboxLimits } from './sandbox.js';

const LIMITS: SandboxLimits = {
  timeoutMs: 30_000,
  memoryBytes: 512 * 1024 * 1024,
  processes: 64,
  outputTailBytes: 100,
  maxOutputBytes: 1024 * 1024,
  diskBytes: 64 * 1024 * 1024,
};

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** `bash -c command`, straight through runLimited (no sandbox). */
function bash(
  command: string,
  options: Omit<Partial<RunOptions>, 'limits'> & { limits?: Partial<SandboxLimits> } = {},
  spec: Partial<LimitedSpawn> = {},
) {
  return runLimited(
    { command, argv: ['bash', '-c', command], env: { PATH: '/usr/bin:/bin' }, ...spec },
    { ...options, limits: { ...LIMITS, ...options.limits } },
  );
}

describe('runLimited', () => {
  it('reports the exit code, the command and the output of a command that ends on its own', async () => {
    const result = await bash('echo out; echo err >&2; exit 3');
    expect(result).toMatchObject({ command: 'echo out; echo err >&2; exit 3', exitCode: 3, limit: null, cancelled: false });
    expect(result.outputTail.split('\n').sort()).toEqual(['', 'err', 'out']);
    expect(result.seconds).toBeGreaterThan(0);
  });

  it('passes only the environment it is given', async () => {
    const result = await bash('env | grep -v -E "^(PWD|SHLVL|_)="');
    expect(result.outputTail).toBe('PATH=/usr/bin:/bin\n');
  });

  it('keeps exactly outputTailBytes of the end, across chunks', async () => {
    // Exactly the tail's size: all of it.
    const exact = await bash(`head -c 100 /dev/zero | tr '\\0' a`);
    expect(exact.outputTail).toBe('a'.repeat(100));
    // One byte more: the first goes.
    const oneMore = await bash(`printf x; head -c 100 /dev/zero | tr '\\0' a`);
    expect(oneMore.outputTail).toBe('a'.repeat(100));
    // Several writes (chunks) of 60: the last 100 bytes are the end of the second and all of the third.
    const chunks = await bash(`for c in A B C; do head -c 60 /dev/zero | tr '\\0' $c; sleep 0.05; done`);
    expect(chunks.outputTail).toBe('B'.repeat(40) + 'C'.repeat(60));
    expect(chunks.limit).toBeNull();
  });

  it('drops a UTF-8 character cut in half at the start of the tail', async () => {
    // "éé" is 4 bytes; the last 3 start inside the first "é".
    const result = await bash(`printf '\\xc3\\xa9\\xc3\\xa9'`, { limits: { outputTailBytes: 3 } });
    expect(result.outputTail).toBe('é');
  });

  it('stops a command past maxOutputBytes, and every chunk read went to onOutput', async () => {
    let streamed = 0;
    const result = await bash('yes', { limits: { maxOutputBytes: 64 * 1024 }, onOutput: (chunk) => (streamed += chunk.length) });
    expect(result).toMatchObject({ limit: 'output', exitCode: null, cancelled: false });
    expect(streamed).toBeGreaterThan(64 * 1024);
    expect(Buffer.byteLength(result.outputTail)).toBeLessThanOrEqual(100);
    expect(result.outputTail).toMatch(/^[y\n]+$/);
  });

  it('stops a command at its wall time, with everything in its process group', async () => {
    const marker = `sleep 3131.${process.pid}`;
    const result = await bash(`${marker} & sleep 30`, { limits: { timeoutMs: 300 } });
    expect(result).toMatchObject({ limit: 'time', exitCode: null, cancelled: false });
    expect(result.seconds).toBeGreaterThanOrEqual(0.25);
    expect(result.seconds).toBeLessThan(10);
    const left = execFileSync('ps', ['-eo', 'stat=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(marker) && !line.trim().startsWith('Z'));
    expect(left).toEqual([]);
  });

  it('reports a file grown past its size limit (SIGXFSZ) as the disk limit', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kodah-run-limited-'));
    dirs.push(dir);
    const result = await bash('ulimit -f 1; head -c 10000 /dev/zero > f', {}, { cwd: dir });
    expect(result).toMatchObject({ limit: 'disk', exitCode: null });
    // bash's `ulimit -f` counts blocks of 1024 bytes.
    expect(statSync(path.join(dir, 'f')).size).toBe(1024);
  });

  it('stops a command at the limit that watch reports, and not before', async () => {
    let calls = 0;
    const watch = vi.fn(async () => (++calls >= 3 ? ('memory' as const) : null));
    const result = await bash('sleep 30', {}, { watch, watchIntervalMs: 20 });
    expect(result).toMatchObject({ limit: 'memory', exitCode: null });
    expect(calls).toBeGreaterThanOrEqual(3);
    const quiet = await bash('true', {}, { watch: async () => null, watchIntervalMs: 20 });
    expect(quiet).toMatchObject({ limit: null, exitCode: 0 });
  });

  it('stops a cancelled command, and one whose signal was aborted before it started', async () => {
    const controller = new AbortController();
    const running = bash('echo started; sleep 30', {
      signal: controller.signal,
      onOutput: (chunk) => chunk.toString().includes('started') && controller.abort(),
    });
    const result = await running;
    expect(result).toMatchObject({ cancelled: true, exitCode: null, limit: null });
    expect(result.seconds).toBeLessThan(10);

    const early = await bash('sleep 30', { signal: AbortSignal.abort() });
    expect(early).toMatchObject({ cancelled: true, exitCode: null });
  });

  it('kills inside through killInside (sparing the leader), and runs killAll after every run before resolving', async () => {
    const order: string[] = [];
    const killInside = vi.fn(async (leader: number) => {
      order.push('inside');
      process.kill(leader, 'SIGKILL');
    });
    const killAll = vi.fn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      order.push('all');
    });
    const stopped = await bash('sleep 30', { limits: { timeoutMs: 200 } }, { killInside, killAll });
    order.push('resolved');
    expect(stopped.limit).toBe('time');
    expect(killInside).toHaveBeenCalledTimes(1);
    expect(typeof killInside.mock.calls[0]![0]).toBe('number');
    expect(order).toEqual(['inside', 'all', 'resolved']);

    // A command that ended on its own may have left processes for the kernel to kill: killAll runs too.
    order.length = 0;
    const finished = await bash('true', {}, { killInside, killAll });
    order.push('resolved');
    expect(finished).toMatchObject({ exitCode: 0, limit: null });
    expect(killInside).toHaveBeenCalledTimes(1);
    expect(order).toEqual(['all', 'resolved']);
  });

  it('resolves even when killAll fails', async () => {
    const result = await bash('true', {}, { killAll: () => Promise.reject(new Error('no /proc')) });
    expect(result).toMatchObject({ exitCode: 0, limit: null });
  });

  it('rejects when the program cannot be started', async () => {
    await expect(runLimited({ command: 'x', argv: ['/nonexistent/kodah-program'], env: {} }, { limits: LIMITS })).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
