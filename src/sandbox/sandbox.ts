/**
 * The one place where repository code and model-written code run. A driver makes a sandbox
 * around one job's work tree; every command of that job runs in it, under limits, with no
 * network (unless the operator lets a setup phase have it), no view of the server's files,
 * processes or secrets, and nothing left behind when the sandbox closes.
 */

/** The limit that stopped a run. */
export type LimitName = 'time' | 'memory' | 'processes' | 'output' | 'disk';

export interface SandboxLimits {
  /** Wall time of one command. */
  timeoutMs: number;
  /** Memory of all its processes together (resident), and the address space of each. */
  memoryBytes: number;
  /** Processes (and threads) at once. */
  processes: number;
  /** The end of the output that is kept and reported; the rest is streamed and dropped. */
  outputTailBytes: number;
  /** Output read in all before the command is stopped. */
  maxOutputBytes: number;
  /** The work tree, /tmp and HOME together on disk. */
  diskBytes: number;
}

export interface RunOptions {
  limits: SandboxLimits;
  /** Network for this command (a setup phase the operator allowed it for); never for tests or the model. */
  network?: boolean;
  signal?: AbortSignal;
  /** Each chunk of output as it comes (stdout and stderr together). */
  onOutput?: (chunk: Buffer) => void;
}

/** What one command did. */
export interface SandboxRun {
  command: string;
  /** Null when it was killed (by a limit, or because the job was cancelled). */
  exitCode: number | null;
  /** The limit it hit, if one stopped it. */
  limit: LimitName | null;
  /** The job was cancelled while it ran. */
  cancelled: boolean;
  seconds: number;
  /** The end of stdout and stderr together, as UTF-8. */
  outputTail: string;
}

export interface Sandbox {
  /** Which driver made it: shown to the user beside each command. */
  readonly driver: SandboxDriverName;
  /** Where the work tree is, as commands inside see it. */
  readonly workdir: string;
  /** HOME on the host, when it lives there (what `setup` put in it is cached with the work tree's part). */
  readonly hostHome?: string;
  /** Runs `command` with `bash -c` in the work tree; every process it started is gone when this resolves. */
  run(command: string, options: RunOptions): Promise<SandboxRun>;
  /** Kills everything running in the sandbox and removes what it made outside the work tree; safe to call twice. */
  close(): Promise<void>;
}

export type SandboxDriverName = 'bubblewrap' | 'container' | 'none';

export interface OpenOptions {
  /** The container image (container driver only): the repository's choice when the operator allows it. */
  image?: string;
}

export interface SandboxDriver {
  readonly name: SandboxDriverName;
  /** A sandbox around `worktree` (a directory on the host, for this job only). */
  open(worktree: string, options?: OpenOptions): Promise<Sandbox>;
}

/** The shell commands run with: bash when the sandbox has it, like CI runners. */
export const SANDBOX_SHELL = ['bash', '-c'] as const;

/** The environment every command starts with; nothing of the server's own environment is passed on. */
export function sandboxEnv(home: string, tmp: string): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: home,
    TMPDIR: tmp,
    USER: 'kodah',
    LOGNAME: 'kodah',
    LANG: 'C.UTF-8',
    CI: 'true',
    PYTHONDONTWRITEBYTECODE: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
  };
}
