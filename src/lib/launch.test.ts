import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { launch, type LaunchSpec } from './launch.js';

const PATH = '/usr/bin:/bin';

/** Runs a program to its end: what it printed, and how it ended. */
function run(spec: Partial<LaunchSpec> & Pick<LaunchSpec, 'file' | 'args'>, onStart?: (p: ReturnType<typeof launch>) => void) {
  return new Promise<{ out: Buffer; err: string; code: number | null; signal: string | null; pid: number | undefined }>(
    (resolve, reject) => {
      const program = launch({ env: { PATH }, stdout: true, stderr: true, ...spec });
      const out: Buffer[] = [];
      let err = '';
      program.stdout.on('data', (c: Buffer) => out.push(c));
      program.stderr.on('data', (c: Buffer) => (err += c.toString()));
      program.on('error', reject);
      program.on('close', (code: number | null, signal: string | null) =>
        resolve({ out: Buffer.concat(out), err, code, signal, pid: program.pid }),
      );
      onStart?.(program);
    },
  );
}

/** Running, not a zombie left for an init that may be slow to reap it. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

/** The launcher: our child whose command line carries its source. */
function launcherPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes("process.on('disconnect'")) return Number(entry);
    } catch {
      // Gone while we looked.
    }
  }
  return undefined;
}

describe('launch', () => {
  it('delivers what a program prints, in order and whole, and how it ended', async () => {
    const small = await run({ file: 'sh', args: ['-c', 'echo out; echo err >&2; exit 3'] });
    expect(small).toMatchObject({ err: 'err\n', code: 3, signal: null });
    expect(small.out.toString()).toBe('out\n');

    // 10 MB through the launcher, byte for byte.
    const big = await run({ file: 'sh', args: ['-c', 'seq 1 1300000'] });
    const expected = Array.from({ length: 1_300_000 }, (_, i) => `${i + 1}\n`).join('');
    expect(big.out.length).toBe(expected.length);
    expect(createHash('sha256').update(big.out).digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('hands fd 3 its bytes, and nothing of the server’s environment', async () => {
    process.env.KODAH_LAUNCH_SECRET = 'do-not-leak';
    try {
      const piped = await run({ file: 'sh', args: ['-c', 'cat <&3; echo "[$KODAH_LAUNCH_SECRET]"'], fd3: Buffer.from('args\0more\0') });
      expect(piped.out.toString()).toBe('args\0more\0[]\n');
    } finally {
      delete process.env.KODAH_LAUNCH_SECRET;
    }
  });

  it('hands standard input its bytes, also to a program that stops reading early', async () => {
    const echoed = await run({ file: 'cat', args: [], stdin: Buffer.from('one\ntwo\n') });
    expect(echoed).toMatchObject({ code: 0, err: '' });
    expect(echoed.out.toString()).toBe('one\ntwo\n');
    // 20 MB to a program that reads one byte: the pipe it closes is no failure of the launcher's.
    const early = await run({ file: 'head', args: ['-c', '1'], stdin: Buffer.alloc(20 * 1024 * 1024, 'x') });
    expect(early).toMatchObject({ code: 0 });
    expect(early.out.toString()).toBe('x');
    // Without stdin the program reads end of file at once rather than waiting.
    expect((await run({ file: 'cat', args: [] })).out.length).toBe(0);
    expect((await run({ file: 'sh', args: ['-c', 'echo still here'] })).out.toString()).toBe('still here\n');
  });

  it('kills a detached program with everything it started, also when asked before it started', async () => {
    let grandchild = 0;
    const killed = await run({ file: 'sh', args: ['-c', 'sleep 100 & echo $!; wait'], detached: true }, (p) =>
      p.stdout.once('data', (c: Buffer) => {
        grandchild = Number(c.toString().trim());
        p.killGroup('SIGKILL');
      }),
    );
    expect(killed.signal).toBe('SIGKILL');
    expect(grandchild).toBeGreaterThan(0);
    await expect.poll(() => alive(grandchild)).toBe(false);

    const early = await run({ file: 'sleep', args: ['100'], detached: true }, (p) => p.killGroup('SIGKILL'));
    expect(early.signal).toBe('SIGKILL');
  });

  it('reports a program that cannot start', async () => {
    await expect(run({ file: '/nonexistent/program', args: [] })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.runIf(process.getuid?.() === 0)('starts a program as the uid asked for', async () => {
    const as = await run({ file: 'id', args: ['-u'], uid: 65534, gid: 65534 });
    expect(as.out.toString().trim()).toBe('65534');
  });

  it('fails what was running when the launcher dies, and starts a new one for the next program', async () => {
    let sleeper: ReturnType<typeof launch> | undefined;
    const pending = run({ file: 'sleep', args: ['100'], detached: true }, (p) => (sleeper = p));
    await expect.poll(() => sleeper?.pid).toBeDefined();
    const first = launcherPid()!;
    process.kill(first, 'SIGKILL');
    await expect(pending).rejects.toThrow(/launcher process exited/);
    // What it was running is not left behind.
    await expect.poll(() => alive(sleeper!.pid!)).toBe(false);
    const next = await run({ file: 'echo', args: ['again'] });
    expect(next.out.toString()).toBe('again\n');
    expect(launcherPid()).not.toBe(first);
  });
});
