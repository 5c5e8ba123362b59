import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { CONTAINER_WORKDIR, containerCreateRequest, execCreateRequest, limitsKey, parseSweep, SWEEP } from './container-requests.js';
import { diskUsage } from './disk-usage.js';
import { chownAll } from './host-tool.js';
import { OutputTail } from './output-tail.js';
import { ContainerEngineError, daemonMessage, type DockerClient, demultiplexer, STDERR, STDOUT } from './docker-api.js';
import type { LimitName, RunOptions, Sandbox, SandboxLimits, SandboxRun } from './sandbox.js';

/** The error for an image the engine does not have: Kodah never pulls one. */
export function missingImage(image: string, api: DockerClient, body: unknown): ContainerEngineError {
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

/** What `open` settled for one sandbox: its image, work tree, user and limits of the engine. */
export interface SandboxSpec {
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

/**
 * One job's sandbox: its containers (made when a command needs one), the execs that run its
 * commands one at a time, and the limits each is held to.
 */
export class ContainerSandbox implements Sandbox {
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
    await chownAll(this.spec.worktree, uid, gid);
  }
}
