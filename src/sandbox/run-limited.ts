import { launch } from '../lib/launch.js';
import { OutputTail } from './output-tail.js';
import type { LimitName, RunOptions, SandboxRun } from './sandbox.js';

export interface LimitedSpawn {
  /** What the user asked for, as reported back. */
  command: string;
  argv: readonly string[];
  env: Record<string, string>;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Written to the child's fd 3 and closed (bwrap reads its arguments there: `--args 3`). */
  fd3?: Buffer;
  /**
   * Looked at every `watchIntervalMs` while the command runs: the limit the sandbox is past, if
   * any (disk, memory, processes: what the kernel cannot count for us without cgroups).
   */
  watch?: () => Promise<LimitName | null>;
  watchIntervalMs?: number;
  /**
   * Kills what the command started, leaving `leader` (the spawned process) to notice and exit on
   * its own; without it (or when the leader is still there two seconds later) the leader's
   * process group is killed.
   */
  killInside?: (leader: number) => Promise<void>;
  /**
   * Kills everything the command started, after the leader exited: a stopped command's dying
   * processes, and what a finished one left for the kernel to kill (the leader may exit first).
   */
  killAll?: () => Promise<void>;
}

/**
 * Spawns `argv` in a process group of its own and holds it to the limits: wall time, output (the
 * tail is kept, the whole is capped) and whatever `watch` measures. A run past a limit, or
 * cancelled, is killed whole. Resolves once the process has exited and `killAll` has run.
 */
export function runLimited(spawnSpec: LimitedSpawn, options: RunOptions): Promise<SandboxRun> {
  const { limits, signal, onOutput } = options;
  const started = performance.now();
  return new Promise<SandboxRun>((resolve, reject) => {
    const child = launch({
      file: spawnSpec.argv[0]!,
      args: spawnSpec.argv.slice(1),
      cwd: spawnSpec.cwd,
      env: spawnSpec.env,
      uid: spawnSpec.uid,
      gid: spawnSpec.gid,
      detached: true,
      fd3: spawnSpec.fd3,
      stdout: true,
      stderr: true,
    });
    let limit: LimitName | null = null;
    let cancelled = false;
    let exited = false;
    let killingInside: Promise<void> = Promise.resolve();
    const killGroup = () => {
      if (!exited) child.killGroup('SIGKILL');
    };
    const stop = (why: LimitName | 'cancelled') => {
      if (exited || limit || cancelled) return;
      if (why === 'cancelled') cancelled = true;
      else limit = why;
      // Not started yet (cancelled at once): its group is killed as soon as it is.
      if (!spawnSpec.killInside || child.pid === undefined) return killGroup();
      // bwrap reaps its sandbox when it dies from the inside; killed from the outside, the
      // sandbox's init would linger as a zombie that counts against the process limit.
      killingInside = spawnSpec.killInside(child.pid).catch(killGroup);
      setTimeout(killGroup, 2000).unref();
    };

    const tail = new OutputTail(limits.outputTailBytes);
    let total = 0;
    const collect = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limits.maxOutputBytes) stop('output');
      onOutput?.(chunk);
      tail.push(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);

    const timer = setTimeout(() => stop('time'), limits.timeoutMs);
    let watching = false;
    const watcher = spawnSpec.watch
      ? setInterval(() => {
          if (watching) return;
          watching = true;
          spawnSpec.watch!()
            .then((hit) => hit && stop(hit))
            .catch(() => {})
            .finally(() => (watching = false));
        }, spawnSpec.watchIntervalMs ?? 500)
      : null;
    const onAbort = () => stop('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();

    const finish = () => {
      clearTimeout(timer);
      if (watcher) clearInterval(watcher);
      signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (err: Error) => {
      finish();
      reject(err);
    });
    child.on('close', (code: number | null, exitSignal: NodeJS.Signals | null) => {
      exited = true;
      finish();
      // A command that ended on its own takes its sandbox with it (bwrap's init exits and the
      // kernel kills its namespace), but bwrap outside may exit before that is done; one that was
      // stopped may have left processes dying. Nothing of this run may still be alive or killing
      // when this resolves (the next run would count or hit it). A failure here must not become
      // an unhandled rejection, which would end the server.
      const cleanup = killingInside.then(() => spawnSpec.killAll?.()).catch(() => {});
      void cleanup.finally(() => {
        // SIGXFSZ: a file grew past the size limit, which is the disk limit's per-file half.
        if (!limit && (exitSignal === 'SIGXFSZ' || code === 128 + 25)) limit = 'disk';
        resolve({
          command: spawnSpec.command,
          exitCode: limit || cancelled ? null : code,
          limit,
          cancelled,
          seconds: Math.round(performance.now() - started) / 1000,
          outputTail: tail.text(),
        });
      });
    });
  });
}
