import { statSync } from 'node:fs';
import path from 'node:path';
import { validImageName } from './container-requests.js';
import { ContainerSandbox, missingImage } from './container-sandbox.js';
import { DEFAULT_DOCKER_HOST, DockerClient } from './docker-api.js';
import type { OpenOptions, SandboxDriver } from './sandbox.js';

/**
 * The container driver: one Docker or Podman container per job, spoken to through the Engine
 * API. The container's own process only waits; each command is an exec in it. No network, the
 * work tree the only mount, a read-only image, no capabilities, cgroup limits on memory, CPU and
 * processes. A command past a limit (or cancelled) takes the container with it — an exec cannot
 * be killed alone — and the next command gets a fresh one.
 *
 * Here: the driver's settings and `open`. One sandbox's life is container-sandbox.ts; the
 * requests it sends, built without an engine, are container-requests.ts.
 */

export {
  DEFAULT_DOCKER_HOST,
  probeContainerEngine,
  pruneContainers,
  SANDBOX_LABEL,
  type ContainerOwner,
  type PruneOptions,
} from './docker-api.js';
export {
  CONTAINER_WORKDIR,
  containerCreateRequest,
  execCreateRequest,
  parseSweep,
  validImageName,
  type ContainerCreateOptions,
} from './container-requests.js';

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
