import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';

/** A program to start, with everything it gets: nothing is inherited from the server. */
export interface LaunchSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** In a process group of its own, which `killGroup` kills whole. */
  detached?: boolean;
  /** Written to the program's standard input, then closed (none when absent). */
  stdin?: Buffer;
  /** Written to the program's fd 3, then closed (bwrap reads its arguments there). */
  fd3?: Buffer;
  /** Which of stdout and stderr are read (the others go to /dev/null). */
  stdout?: boolean;
  stderr?: boolean;
}

/**
 * A started program: its output as streams, 'error' when it could not start, 'close' with its
 * exit code and signal once it exited and its output was all delivered.
 */
export interface Launched extends EventEmitter {
  readonly stdout: PassThrough;
  readonly stderr: PassThrough;
  /** Known once the program started. */
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  /** Kills the program (its process group when detached); before it started, as soon as it does. */
  killGroup(signal: NodeJS.Signals): void;
}

/** The launcher's protocol: one request per program, then its events. */
type Request = { id: number; spec: Omit<LaunchSpec, 'stdin' | 'fd3'> & { stdin?: Uint8Array; fd3?: Uint8Array } };
type Event =
  | { id: number; pid: number }
  | { id: number; fd: 1 | 2; data: Uint8Array }
  | { id: number; code: number | null; signal: NodeJS.Signals | null }
  | { id: number; error: { message: string; code?: string } };

/**
 * The launcher: a small node process that starts programs for the server. Node starts a program
 * by forking, which copies the page tables of the whole process: from a server holding several
 * hundred megabytes (the localizer's caches) each git, chown or bwrap cost 15–20 ms more than
 * from this process of a few tens of megabytes. Kept as source here so that it runs the same
 * from the sources and from the build, with no file to find.
 */
const LAUNCHER = `
const { spawn } = require('node:child_process');
process.on('disconnect', () => process.exit(0));
process.on('message', ({ id, spec }) => {
  const send = (event) => process.connected && process.send({ id, ...event });
  let child;
  try {
    child = spawn(spec.file, spec.args, {
      env: spec.env, cwd: spec.cwd, uid: spec.uid, gid: spec.gid, detached: spec.detached,
      stdio: [spec.stdin ? 'pipe' : 'ignore', spec.stdout ? 'pipe' : 'ignore', spec.stderr ? 'pipe' : 'ignore', ...(spec.fd3 ? ['pipe'] : [])],
    });
  } catch (error) {
    return send({ error: { message: error.message, code: error.code } });
  }
  child.on('error', (error) => send({ error: { message: error.message, code: error.code } }));
  if (child.pid === undefined) return;
  send({ pid: child.pid });
  for (const [fd, bytes] of [[0, spec.stdin], [3, spec.fd3]]) {
    if (!bytes) continue;
    // A program that exits before reading it all closes the pipe: not an error of ours.
    child.stdio[fd].on('error', () => {});
    child.stdio[fd].end(Buffer.from(bytes));
  }
  child.stdout?.on('data', (data) => send({ fd: 1, data }));
  child.stderr?.on('data', (data) => send({ fd: 2, data }));
  child.on('close', (code, signal) => send({ code, signal }));
});
`;

class LaunchedProgram extends EventEmitter implements Launched {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  pid: number | undefined;
  exitCode: number | null = null;
  #pendingKill: NodeJS.Signals | null = null;
  #done = false;

  constructor(private readonly detached: boolean) {
    super();
  }

  killGroup(signal: NodeJS.Signals): void {
    if (this.#done) return;
    if (this.pid === undefined) {
      this.#pendingKill = signal;
      return;
    }
    try {
      process.kill(this.detached ? -this.pid : this.pid, signal);
    } catch {
      // Gone already, or its group is: nothing left to kill.
    }
  }

  started(pid: number): void {
    this.pid = pid;
    if (this.#pendingKill) this.killGroup(this.#pendingKill);
  }

  /** Ends the streams, then reports the exit once their data has been read. */
  finish(code: number | null, signal: NodeJS.Signals | null): void {
    this.#done = true;
    this.exitCode = code;
    let open = 2;
    const closed = () => --open === 0 && this.emit('close', code, signal);
    for (const stream of [this.stdout, this.stderr]) {
      stream.once('end', closed);
      stream.end();
      // Nobody reading: the stream must still end.
      if (stream.listenerCount('data') === 0 && stream.listenerCount('readable') === 0) stream.resume();
    }
  }

  /** Reports a failure; a program that had started is killed first, so that none runs on unwatched. */
  fail(error: Error): void {
    if (this.pid !== undefined) this.killGroup('SIGKILL');
    this.#done = true;
    this.emit('error', error);
  }
}

let launcher: ChildProcess | null = null;
const running = new Map<number, LaunchedProgram>();
let nextId = 0;

function startLauncher(): ChildProcess {
  const child = spawn(process.execPath, ['-e', LAUNCHER], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'advanced',
    env: {},
  });
  child.on('message', (event: Event) => {
    const program = running.get(event.id);
    if (!program) return;
    if ('pid' in event) program.started(event.pid);
    else if ('fd' in event)
      (event.fd === 1 ? program.stdout : program.stderr).write(
        Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength),
      );
    else if ('error' in event) {
      running.delete(event.id);
      idle();
      program.fail(Object.assign(new Error(event.error.message), { code: event.error.code }));
    } else {
      running.delete(event.id);
      idle();
      program.finish(event.code, event.signal);
    }
  });
  const lost = (why: string) => {
    if (launcher !== child) return;
    launcher = null;
    for (const [id, program] of running) {
      running.delete(id);
      program.fail(new Error(`the launcher process ${why}`));
    }
  };
  child.on('exit', (code, signal) => lost(`exited (${signal ?? code})`));
  child.on('error', (error) => lost(`failed: ${error.message}`));
  return child;
}

/** An idle launcher keeps nothing alive: the server may exit around it. */
function idle(): void {
  if (running.size > 0 || !launcher) return;
  launcher.unref();
  launcher.channel?.unref();
}

/** Starts a program through the launcher (see LAUNCHER: a fork from a small process is cheap). */
export function launch(spec: LaunchSpec): Launched {
  const program = new LaunchedProgram(spec.detached ?? false);
  launcher ??= startLauncher();
  launcher.ref();
  launcher.channel?.ref();
  const id = nextId++;
  running.set(id, program);
  const bytes = (b: Buffer | undefined) => (b ? new Uint8Array(b) : undefined);
  const request: Request = { id, spec: { ...spec, stdin: bytes(spec.stdin), fd3: bytes(spec.fd3) } };
  launcher.send(request, (error) => {
    if (!error || !running.has(id)) return;
    running.delete(id);
    idle();
    program.fail(error);
  });
  return program;
}
