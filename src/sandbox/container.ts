import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { diskUsage } from './disk-usage.js';
import {
  ContainerEngineError,
  daemonMessage,
  DEFAULT_DOCKER_HOST,
  DockerClient,
  demultiplexer,
  sandboxLabels,
  STDERR,
  STDOUT,
  type ContainerOwner,
} from './docker-api.js';
import {
  SANDBOX_SHELL,
  sandboxEnv,
  type LimitName,
  type OpenOptions,
  type RunOptions,
  type Sandbox,
  type SandboxDriver,
  type SandboxLimits,
  type SandboxRun,
} from './sandbox.js';

/**
 * The container driver: one Docker or Podman container per job, spoken to through the Engine
 * API. The container's own process only waits; each command is an exec in it. No network, the
 * work tree the only mount, a read-only image, no capabilities, cgroup limits on memory, CPU and
 * processes. A command past a limit (or cancelled) takes the container with it — an exec cannot
 * be killed alone — and the next command gets a fresh one.
 */

export const CONTAINER_WORKDIR = '/workspace';
const HOME = '/home/kodah';
export {
  DEFAULT_DOCKER_HOST,
  probeContainerEngine,
  pruneContainers,
  SANDBOX_LABEL,
  type ContainerOwner,
  type PruneOptions,
} from './docker-api.js';

export interface ContainerCreateOptions {
  image: string;
  /** The job's work tree on the engine's host: the only thing of the host the container sees. */
  worktree: string;
  limits: SandboxLimits;
  cpus: number;
  network: boolean;
  name: string;
  /**
   * uid:gid of the container's own process, which only waits. Commands run as another user
   * (`execCreateRequest`), who can then kill every process of theirs without killing the container.
   */
  keeperUser?: string;
  /** Binds the work tree's `.git` read-only over itself, as the bubblewrap driver does. */
  readOnlyGit?: boolean;
  /** Relabels the work tree for SELinux (`:z`), which an enforcing host needs before a container may write it. */
  selinuxRelabel?: boolean;
  owner?: ContainerOwner;
}

const MIB = 1024 * 1024;

/** The body of `POST /containers/create` for one sandbox container. */
export function containerCreateRequest(opts: ContainerCreateOptions): object {
  const { limits } = opts;
  const tmpfs = (size: number) => `rw,exec,nosuid,nodev,size=${Math.max(size, MIB)},mode=1777`;
  if (!path.isAbsolute(opts.worktree) || opts.worktree.includes(':'))
    throw new Error(`work tree ${opts.worktree}: an absolute path without ':' is needed`);
  const label = opts.selinuxRelabel ? ',z' : '';
  const binds = [`${opts.worktree}:${CONTAINER_WORKDIR}:rw${label}`];
  if (opts.readOnlyGit) binds.push(`${path.join(opts.worktree, '.git')}:${CONTAINER_WORKDIR}/.git:ro${label}`);
  return {
    Image: opts.image,
    // The image's own entrypoint is not run: it could do anything, and nothing needs it.
    Entrypoint: ['sleep'],
    Cmd: ['infinity'],
    User: opts.keeperUser ?? '65534:65534',
    WorkingDir: CONTAINER_WORKDIR,
    Env: envList(),
    Hostname: 'sandbox',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    NetworkDisabled: !opts.network,
    Labels: sandboxLabels(opts.owner),
    HostConfig: {
      NetworkMode: opts.network ? 'bridge' : 'none',
      // The work tree, and nothing else of the host.
      Binds: binds,
      Tmpfs: { '/tmp': tmpfs(limits.diskBytes), [HOME]: tmpfs(limits.diskBytes) },
      ReadonlyRootfs: true,
      Memory: limits.memoryBytes,
      // The same as Memory: no swap.
      MemorySwap: limits.memoryBytes,
      NanoCpus: Math.round(opts.cpus * 1e9),
      PidsLimit: limits.processes,
      Ulimits: [
        { Name: 'nofile', Soft: 4096, Hard: 4096 },
        // One file cannot outgrow the disk limit (SIGXFSZ); the whole is measured while it runs.
        { Name: 'fsize', Soft: limits.diskBytes, Hard: limits.diskBytes },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      Init: true,
      IpcMode: 'private',
      CgroupnsMode: 'private',
      ShmSize: 64 * MIB,
      AutoRemove: false,
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}

/** The body of `POST /containers/{id}/exec` that runs `command` with bash as `user`. */
export function execCreateRequest(command: string, user: string): object {
  return {
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Cmd: [...SANDBOX_SHELL, command],
    User: user,
    WorkingDir: CONTAINER_WORKDIR,
    Env: envList(),
    Privileged: false,
  };
}

function envList(): string[] {
  return Object.entries(sandboxEnv(HOME, '/tmp')).map(([key, value]) => `${key}=${value}`);
}

/**
 * Run after each command, as its user: kills what it left running (everything of that user but
 * this shell; the waiting process belongs to another), then prints the cgroup's counters of OOM
 * kills and refused forks. Builtins only.
 */
const SWEEP = [
  'kill -9 -1 2>/dev/null',
  'm=/sys/fs/cgroup/memory.events; [ -r "$m" ] || m=/sys/fs/cgroup/memory/memory.oom_control',
  'p=/sys/fs/cgroup/pids.events; [ -r "$p" ] || p=/sys/fs/cgroup/pids/pids.events',
  '[ -r "$m" ] && while read -r k v; do echo "memory.$k $v"; done < "$m"',
  '[ -r "$p" ] && while read -r k v; do echo "pids.$k $v"; done < "$p"',
  'exit 0',
].join('\n');

/** The counters SWEEP printed: OOM kills and forks refused by the pids limit, so far. */
export function parseSweep(output: string): { oomKills: number; pidsMax: number } {
  const value = (key: string) => Number(new RegExp(`^${key.replace('.', '\\.')} (\\d+)$`, 'm').exec(output)?.[1] ?? 0);
  return { oomKills: value('memory.oom_kill'), pidsMax: value('pids.max') };
}

/** A Docker image reference (`name[:tag][@digest]`, with an optional registry): nothing else reaches the API. */
export function validImageName(image: string): boolean {
  const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
  const registry = '(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\\d+)?/)?';
  const re = new RegExp(`^${registry}${component}(?:/${component})*(?::\\w[\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`);
  return image.length <= 255 && re.test(image);
}

export interface ContainerSettings {
  /** The engine: a unix socket path, `unix://…` or `tcp://host:port`. Default /var/run/docker.sock. */
  host?: string;
  /** The image when `open` names none. It must have bash and the repository's toolchain. */
  image: string;
  /** CPUs a sandbox may use. Default 2. */
  cpus?: number;
  /**
   * uid:gid commands run as: it must be able to write the work tree. Default: the server's own
   * when it is not root; else 1000:1000, and the work tree is handed to it before each command.
   * Rootless Podman maps the container's root to the server's user: use 0:0 there.
   */
  user?: string;
  /** How often the work tree's size is measured while a command runs. Default 1000 ms. */
  diskPollMs?: number;
  /** Longest wait for one API call. Default 60 s. */
  apiTimeoutMs?: number;
  /** Relabel the work tree for SELinux (`:z` on its bind): needed where SELinux is enforcing (Fedora, RHEL). */
  selinuxRelabel?: boolean;
}

function defaultUser(): string {
  const uid = process.getuid?.();
  return uid === undefined || uid === 0 ? '1000:1000' : `${uid}:${process.getgid?.() ?? uid}`;
}

/** The container driver over the Engine API of Docker or Podman. */
export function containerDriver(settings: ContainerSettings): SandboxDriver {
  const api = new DockerClient(settings.host ?? DEFAULT_DOCKER_HOST, { timeoutMs: settings.apiTimeoutMs });
  const user = settings.user ?? defaultUser();
  if (!/^\d+:\d+$/.test(user)) throw new Error(`container sandbox user ${JSON.stringify(user)}: expected uid:gid in numbers`);
  const cpus = settings.cpus ?? 2;
  if (!(cpus > 0)) throw new Error(`container sandbox CPUs: expected a positive number, got ${cpus}`);
  // The engine refuses more CPUs than its machine has; asked once.
  let engineCpus: Promise<number> | null = null;
  return {
    name: 'container',
    async open(worktree: string, options: OpenOptions = {}) {
      const image = options.image ?? settings.image;
      if (!validImageName(image)) throw new Error(`${JSON.stringify(image)} is not a container image name`);
      if (!path.isAbsolute(worktree) || !statSync(worktree, { throwIfNoEntry: false })?.isDirectory()) {
        throw new Error(`work tree ${worktree}: not a directory`);
      }
      const found = await api.call('GET', `/images/${image}/json`);
      if (found.status === 404) throw missingImage(image, api, found.body);
      if (found.status >= 300) throw api.refused('GET', `/images/${image}/json`, found, `to look up the image ${image}`);
      engineCpus ??= api.json<{ NCPU?: number }>('GET', '/info').then(
        (info) => info.NCPU ?? cpus,
        () => cpus,
      );
      return new ContainerSandbox(api, {
        image,
        worktree,
        user,
        cpus: Math.min(cpus, await engineCpus),
        diskPollMs: settings.diskPollMs ?? 1000,
        selinuxRelabel: settings.selinuxRelabel ?? false,
      });
    },
  };
}

function missingImage(image: string, api: DockerClient, body: unknown): ContainerEngineError {
  const said = daemonMessage(body) ?? 'no such image';
  return new ContainerEngineError(
    `The sandbox image ${image} is not on the container engine at ${api.address} (${said}). Kodah does not pull images: ` +
      `pull or build it there first (docker pull ${image}, or podman pull ${image}).`,
    404,
    said,
  );
}

/** One container of a sandbox, and its cgroup's counters as of the last command. */
interface Box {
  id: string;
  name: string;
  limitsKey: string;
  oomKills: number;
  pidsMax: number;
}

interface SandboxSpec {
  image: string;
  worktree: string;
  user: string;
  cpus: number;
  diskPollMs: number;
  selinuxRelabel: boolean;
}

type Stop = LimitName | 'cancelled';

/** How long the output of a command that has exited may stay open (held by a process it left behind). */
const EXITED_GRACE_MS = 1000;

class ContainerSandbox implements Sandbox {
  readonly driver = 'container' as const;
  readonly workdir = CONTAINER_WORKDIR;
  private main: Box | null = null;
  /** Every container made and not yet removed (the main one, a setup's networked one). */
  private readonly boxes = new Set<Box>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private serial = 0;
  private readonly baseName = `kodah-${randomBytes(6).toString('hex')}`;
  private readonly keeperUser: string;

  constructor(
    private readonly api: DockerClient,
    private readonly spec: SandboxSpec,
  ) {
    this.keeperUser = spec.user.startsWith('65534:') ? '65533:65533' : '65534:65534';
  }

  run(command: string, options: RunOptions): Promise<SandboxRun> {
    // One command at a time: the sweep after each kills everything of the sandbox's user.
    const next = this.queue.then(() => this.runNow(command, options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    const results = await Promise.allSettled([...this.boxes].map((box) => this.remove(box)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async runNow(command: string, options: RunOptions): Promise<SandboxRun> {
    const started = performance.now();
    const done = (exitCode: number | null, limit: LimitName | null, cancelled: boolean, outputTail: string): SandboxRun => ({
      command,
      exitCode: limit || cancelled ? null : exitCode,
      limit,
      cancelled,
      seconds: Math.round(performance.now() - started) / 1000,
      outputTail,
    });
    if (this.closed) throw new Error('the sandbox is closed');
    if (options.signal?.aborted) return done(null, null, true, '');
    await this.handOverWorktree();
    const network = options.network ?? false;
    const box = network ? await this.create(true, options.limits) : await this.mainBox(options.limits);
    try {
      let exec = await this.startExec(box, execCreateRequest(command, this.spec.user));
      if (exec === 'not running' && !network) {
        // Its waiting process died (an OOM kill can pick it): start over in a fresh container.
        await this.remove(box);
        exec = await this.startExec(await this.mainBox(options.limits), execCreateRequest(command, this.spec.user));
      }
      if (exec === 'not running') {
        throw new ContainerEngineError(
          `The sandbox container (image ${this.spec.image}) stopped as soon as it started: the image needs bash and a sleep that takes "infinity" (coreutils or busybox)`,
          409,
          null,
        );
      }
      const current = network ? box : this.main!;
      const { stop, tail } = await this.follow(current, exec, options);
      if (stop) {
        await this.remove(current);
        return done(null, stop === 'cancelled' ? null : stop, stop === 'cancelled', tail);
      }
      if (this.closed) return done(null, null, true, tail);
      const exitCode = await this.exitCode(exec.id);
      const limit = await this.afterRun(current, exitCode, options.limits);
      return done(exitCode, limit, false, tail);
    } finally {
      if (network) await this.remove(box);
    }
  }

  /**
   * Streams the command's output under its limits; kills the container when one is hit. The
   * stream stays open while anything holds the command's stdout (`server &`): once the engine
   * says the command itself has exited, what is left gets a moment to flush, then the stream is
   * let go and the sweep kills the rest.
   */
  private follow(box: Box, exec: { id: string; stream: Readable }, options: RunOptions): Promise<{ stop: Stop | null; tail: string }> {
    const { limits, signal, onOutput } = options;
    const { stream } = exec;
    const tail = new OutputTail(limits.outputTailBytes);
    let total = 0;
    let stop: Stop | null = null;
    let ended = false;
    let killing: Promise<void> = Promise.resolve();
    const halt = (why: Stop) => {
      if (stop || ended) return;
      stop = why;
      killing = this.kill(box);
      stream.destroy();
    };
    const parse = demultiplexer((kind, payload) => {
      if (stop || (kind !== STDOUT && kind !== STDERR && kind !== 3)) return;
      total += payload.length;
      onOutput?.(payload);
      tail.push(payload);
      if (total > limits.maxOutputBytes) halt('output');
    });
    const timer = setTimeout(() => halt('time'), limits.timeoutMs);
    let diskTimer: NodeJS.Timeout | undefined;
    let exitedAt: number | null = null;
    const measure = () => {
      diskTimer = setTimeout(() => {
        void Promise.all([diskUsage(this.spec.worktree, limits.diskBytes).catch(() => 0), this.execRunning(exec.id)]).then(
          ([used, running]) => {
            if (used > limits.diskBytes) return halt('disk');
            if (running === false) exitedAt ??= performance.now();
            if (exitedAt !== null && performance.now() - exitedAt >= EXITED_GRACE_MS) stream.destroy();
            else if (!ended && !stop) measure();
          },
        );
      }, this.spec.diskPollMs);
    };
    measure();
    const onAbort = () => halt('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    return new Promise((resolve) => {
      stream.on('data', (chunk: Buffer) => parse(chunk));
      // The engine dropping the connection ends the stream as well; the exec's state says the rest.
      stream.on('error', () => undefined);
      stream.once('close', () => {
        ended = true;
        clearTimeout(timer);
        clearTimeout(diskTimer);
        signal?.removeEventListener('abort', onAbort);
        void killing.then(() => resolve({ stop, tail: tail.text() }));
      });
      if (signal?.aborted) onAbort();
    });
  }

  /** After a command that ended by itself: kill what it left, then which limit (if any) it met. */
  private async afterRun(box: Box, exitCode: number | null, limits: SandboxLimits): Promise<LimitName | null> {
    const counters = await this.sweep(box);
    let limit: LimitName | null = null;
    if (counters) {
      if (counters.oomKills > box.oomKills) limit = 'memory';
      else if (counters.pidsMax > box.pidsMax) limit = 'processes';
      box.oomKills = counters.oomKills;
      box.pidsMax = counters.pidsMax;
    } else {
      // The container cannot run the sweep: it is gone or stuck. Ask why, then start over.
      const inspected = await this.api.call('GET', `/containers/${box.id}/json`).catch(() => null);
      const state = (inspected?.body as { State?: { OOMKilled?: boolean } } | null)?.State;
      if (state?.OOMKilled) limit = 'memory';
      await this.remove(box);
    }
    // 128 + SIGXFSZ: a file grew past the size limit, the disk limit's per-file half.
    if (!limit && exitCode === 128 + 25) limit = 'disk';
    if (!limit && (await diskUsage(this.spec.worktree, limits.diskBytes).catch(() => 0)) > limits.diskBytes) limit = 'disk';
    return limit;
  }

  private async mainBox(limits: SandboxLimits): Promise<Box> {
    if (this.main && this.main.limitsKey !== limitsKey(limits)) await this.remove(this.main);
    this.main ??= await this.create(false, limits);
    return this.main;
  }

  private async create(network: boolean, limits: SandboxLimits): Promise<Box> {
    const name = `${this.baseName}-${++this.serial}`;
    const git = lstatSync(path.join(this.spec.worktree, '.git'), { throwIfNoEntry: false });
    const body = containerCreateRequest({
      image: this.spec.image,
      worktree: this.spec.worktree,
      limits,
      cpus: this.spec.cpus,
      network,
      name,
      keeperUser: this.keeperUser,
      readOnlyGit: Boolean(git && (git.isFile() || git.isDirectory())),
      selinuxRelabel: this.spec.selinuxRelabel,
    });
    const created = await this.api.call('POST', `/containers/create?name=${name}`, body);
    if (created.status === 404) throw missingImage(this.spec.image, this.api, created.body);
    if (created.status >= 300) throw this.api.refused('POST', '/containers/create', created, 'to create the sandbox container');
    const box: Box = { id: String((created.body as { Id: string }).Id), name, limitsKey: limitsKey(limits), oomKills: 0, pidsMax: 0 };
    this.boxes.add(box);
    const started = await this.api.call('POST', `/containers/${box.id}/start`).catch((err: unknown) => err as Error);
    if (started instanceof Error || started.status >= 300) {
      await this.remove(box).catch(() => undefined);
      throw started instanceof Error ? started : this.api.refused('POST', '/containers/start', started, 'to start the sandbox container');
    }
    if (this.closed) {
      await this.remove(box);
      throw new Error('the sandbox is closed');
    }
    return box;
  }

  private async startExec(box: Box, body: object): Promise<{ id: string; stream: Readable } | 'not running'> {
    const created = await this.api.call('POST', `/containers/${box.id}/exec`, body);
    if (created.status === 409 || created.status === 404) return 'not running';
    if (created.status >= 300) throw this.api.refused('POST', '/containers/exec', created, 'to start a command in the sandbox');
    const id = String((created.body as { Id: string }).Id);
    const stream = await this.api.hijack(`/exec/${id}/start`, { Detach: false, Tty: false });
    return { id, stream };
  }

  /** Whether the exec's process still runs; null when the engine cannot say. */
  private async execRunning(execId: string): Promise<boolean | null> {
    const res = await this.api.call('GET', `/exec/${execId}/json`).catch(() => null);
    return res && res.status < 300 ? Boolean((res.body as { Running?: boolean }).Running) : null;
  }

  /** The exec's exit code, once the engine has recorded it; null when it cannot say. */
  private async exitCode(execId: string): Promise<number | null> {
    for (let attempt = 0; attempt < 40; attempt++) {
      const res = await this.api.call('GET', `/exec/${execId}/json`).catch(() => null);
      if (!res || res.status >= 300) return null;
      const state = res.body as { Running?: boolean; ExitCode?: number | null };
      if (!state.Running) return typeof state.ExitCode === 'number' ? state.ExitCode : null;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return null;
  }

  /** Runs SWEEP; its counters, or null when the container could not run it. */
  private async sweep(box: Box): Promise<{ oomKills: number; pidsMax: number } | null> {
    const exec = await this.startExec(box, execCreateRequest(SWEEP, this.spec.user)).catch(() => 'not running' as const);
    if (exec === 'not running') return null;
    const output: Buffer[] = [];
    const parse = demultiplexer((kind, payload) => kind === STDOUT && output.push(payload));
    const finished = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        exec.stream.destroy();
        resolve(false);
      }, 15_000);
      exec.stream.on('data', (chunk: Buffer) => parse(chunk));
      exec.stream.on('error', () => undefined);
      exec.stream.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    return finished ? parseSweep(Buffer.concat(output).toString('utf8')) : null;
  }

  private async kill(box: Box): Promise<void> {
    await this.api.call('POST', `/containers/${box.id}/kill`).catch(() => undefined);
  }

  /** Removes a container (killing what runs in it); a container already gone is fine. */
  private async remove(box: Box): Promise<void> {
    if (this.main === box) this.main = null;
    if (!this.boxes.has(box)) return;
    const res = await this.api.call('DELETE', `/containers/${box.id}?force=true&v=true`);
    // 409: a removal already under way (close() and a run's clean-up at once).
    if (res.status >= 300 && res.status !== 404 && res.status !== 409) {
      throw this.api.refused('DELETE', `/containers/${box.id}`, res, `to remove the sandbox container ${box.name}`);
    }
    this.boxes.delete(box);
  }

  /** A root server's work tree becomes the sandbox user's, so that commands may write it (files the server wrote since, too). */
  private async handOverWorktree(): Promise<void> {
    const [uid, gid] = this.spec.user.split(':').map(Number) as [number, number];
    if (process.getuid?.() !== 0 || uid === 0) return;
    await chownTree(this.spec.worktree, uid, gid);
  }
}

/** The container-level limits: a command with others needs another container. */
function limitsKey(limits: SandboxLimits): string {
  return `${limits.memoryBytes}/${limits.processes}/${limits.diskBytes}`;
}

/** The last `max` bytes of a stream of chunks, as UTF-8. */
class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= this.max) this.bytes -= this.chunks.shift()!.length;
  }

  text(): string {
    let all = Buffer.concat(this.chunks);
    if (all.length > this.max) all = all.subarray(all.length - this.max);
    // A cut inside a character leaves replacement characters at the start.
    return all.toString('utf8').replace(/^\uFFFD+/, '');
  }
}

/** `chown -R` without following links. */
function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('chown', ['-R', '-P', `${uid}:${gid}`, dir], { stdio: ['ignore', 'ignore', 'pipe'], env: {} });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`chown of the work tree failed: ${err.trim()}`))));
  });
}
