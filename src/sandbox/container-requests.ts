import path from 'node:path';
import { sandboxLabels, type ContainerOwner } from './docker-api.js';
import { SANDBOX_SHELL, sandboxEnv, type SandboxLimits } from './sandbox.js';

/**
 * What the container driver (container.ts) asks of the engine, built without touching it: the
 * bodies of its create and exec requests, the clean-up run after each command and how its output
 * is read, and which image names may reach the API at all.
 */

export const CONTAINER_WORKDIR = '/workspace';
const HOME = '/home/kodah';

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
export const SWEEP = [
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

/** The container-level limits: a command with others needs another container. */
export function limitsKey(limits: SandboxLimits): string {
  return `${limits.memoryBytes}/${limits.processes}/${limits.diskBytes}`;
}
