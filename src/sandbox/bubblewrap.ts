import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { chmod, chown, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { diskUsage } from './disk-usage.js';
import { chownAll, runHostTool } from './host-tool.js';
import { runLimited } from './run-limited.js';
import { SANDBOX_SHELL, type Sandbox, type SandboxDriver, type SandboxLimits, sandboxEnv } from './sandbox.js';
import { scratchName } from '../lib/scratch-name.js';
import { killUid, uidUsage } from './uid-processes.js';

export interface BubblewrapSettings {
  /** Where each sandbox's HOME and /tmp live on the host while it is open (removed on close). */
  scratchDir: string;
  /** Host paths that must stay invisible even when they lie under a bound system folder (data folder, key file). */
  hidden: readonly string[];
  /** Further host paths the operator lists, bound read-only at the same place. */
  extraPaths: readonly string[];
  /** Size of /dev/shm, which lives in memory. */
  shmBytes?: number;
  /**
   * Kodah's own folder (the data folder): folders in it on the way to a work tree are made
   * traversable (o+x, not readable) for the sandbox's uid, which bwrap runs as. Folders above it
   * are the operator's and are never changed.
   */
  ownDir: string;
}

/** Inside, every sandbox sees the same paths: cached environments (a venv's absolute paths) stay valid. */
export const WORKDIR = '/workspace';
const HOME = '/home/kodah';
const INSIDE_UID = 1000;

/**
 * Sandboxes on a root server run as a uid of their own, picked at random from this range (one
 * that no account of the host uses): the kernel then counts their processes apart from everyone
 * else's, and the watchdog finds all of them, and only them, by uid.
 */
const UID_BASE = 200_000;
const UID_SPAN = 60_000;

/** What of /etc a sandbox sees: what programs need to start, and nothing that holds a host's secrets. */
const ETC_ENTRIES = [
  /^alternatives$/,
  /^ld\.so\.(cache|conf|conf\.d)$/,
  /^(localtime|timezone)$/,
  /^(ssl|ca-certificates|ca-certificates\.conf)$/,
  /^(mime\.types|magic|mailcap)$/,
  /^(os-release|debian_version|lsb-release)$/,
  /^(protocols|services|nsswitch\.conf|hosts|host\.conf|gai\.conf)$/,
  /^(bash\.bashrc|profile|inputrc)$/,
  /^python\d/,
  /^(perl|java-.*|fonts)$/,
];

/** The host's layout, read once: merged-/usr systems have /bin as a link, others as a folder. */
function systemMounts(): string[] {
  const args: string[] = ['--ro-bind', '/usr', '/usr'];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    const stat = lstatSync(dir, { throwIfNoEntry: false });
    if (!stat) continue;
    // `/bin -> usr/bin` on the host: the same link inside.
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else args.push('--ro-bind', dir, dir);
  }
  return args;
}

/**
 * The sandbox's /etc, made once per sandbox: the chosen host entries (copied, links kept as
 * links) and its own passwd and group. One bind instead of one per entry keeps each command's
 * start cheap.
 */
async function makeEtc(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = readdirSync('/etc').filter((name) => ETC_ENTRIES.some((re) => re.test(name)));
  // Entries the server cannot read are left out (cp goes on past them), never an error.
  const sources = entries.map((name) => `/etc/${name}`);
  if (sources.length > 0) await runHostTool('cp', ['-a', '--', ...sources, dir], 'copying /etc', { partialOk: true });
  await writeFile(
    path.join(dir, 'passwd'),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nkodah:x:${INSIDE_UID}:${INSIDE_UID}:kodah:${HOME}:/bin/bash\n`,
  );
  await writeFile(path.join(dir, 'group'), `root:x:0:\nkodah:x:${INSIDE_UID}:\n`);
}

let cachedSystemMounts: string[] | null = null;

/** Host paths bwrap binds. bwrap runs as the sandbox's uid: each must be reachable by it (see traversable). */
export interface BwrapSpec {
  worktree: string;
  home: string;
  tmp: string;
  /** The sandbox's own /etc (see makeEtc). */
  etc: string;
  network: boolean;
  hidden: readonly string[];
  extraPaths: readonly string[];
  shmBytes: number;
}

/**
 * bwrap's arguments for one command: new user, PID, IPC, UTS, cgroup and (unless asked) network
 * namespaces; no capabilities and no further user namespaces inside; the system folders, a
 * chosen part of /etc and the operator's extra paths read-only; the job's work tree, HOME and
 * /tmp the only writable places; a fresh /proc of its own; everything else (the data folder,
 * mirrors, other work trees, the App's key) simply absent. The sandbox dies with its parent.
 */
export function bwrapArgs(spec: BwrapSpec): string[] {
  cachedSystemMounts ??= systemMounts();
  const args = [
    '--unshare-all',
    '--unshare-user',
    ...(spec.network ? ['--share-net'] : []),
    '--disable-userns',
    '--die-with-parent',
    // A session of its own: no TIOCSTI into a terminal outside.
    '--new-session',
    '--uid',
    String(INSIDE_UID),
    '--gid',
    String(INSIDE_UID),
    '--hostname',
    'sandbox',
    ...cachedSystemMounts,
    ...spec.extraPaths.filter((p) => existsSync(p)).flatMap((p) => ['--ro-bind', p, p]),
    '--ro-bind',
    spec.etc,
    '/etc',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(spec.shmBytes),
    '--tmpfs',
    '/dev/shm',
    '--bind',
    spec.tmp,
    '/tmp',
    '--dir',
    '/var',
    '--symlink',
    '../tmp',
    '/var/tmp',
    '--bind',
    spec.home,
    HOME,
    '--bind',
    spec.worktree,
    WORKDIR,
  ];
  // The work tree's `.git` points into the mirror, which is not there; read-only, so that no
  // command can turn it into a repository whose config the server's own git would then obey.
  if (existsSync(path.join(spec.worktree, '.git'))) args.push('--ro-bind', path.join(spec.worktree, '.git'), `${WORKDIR}/.git`);
  for (const hidden of spec.hidden) {
    // The sandbox's /etc is its own copy: a path there is masked only when the copy holds it
    // (bwrap cannot make a mount point in the read-only copy, and would fail every command).
    const seen = hidden.startsWith('/etc/') ? path.join(spec.etc, path.relative('/etc', hidden)) : hidden;
    const stat = lstatSync(seen, { throwIfNoEntry: false });
    if (!stat || !underBoundPath(hidden, spec.extraPaths)) continue;
    if (stat.isDirectory()) args.push('--tmpfs', hidden, '--remount-ro', hidden);
    else args.push('--ro-bind', '/dev/null', hidden);
  }
  args.push('--remount-ro', '/dev', '--remount-ro', '/', '--chdir', WORKDIR, '--clearenv');
  for (const [key, value] of Object.entries(sandboxEnv(HOME, '/tmp'))) args.push('--setenv', key, value);
  return args;
}

/** Whether a host path would be visible inside: under a system folder or an operator's extra path. */
function underBoundPath(hostPath: string, extraPaths: readonly string[]): boolean {
  const bound = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', ...extraPaths];
  return bound.some((b) => hostPath === b || hostPath.startsWith(b.endsWith('/') ? b : `${b}/`));
}

/** prlimit's arguments: the kernel's own per-process limits, which hold even where the watchdog cannot see. */
function prlimitArgs(limits: SandboxLimits): string[] {
  return [
    `--nproc=${limits.processes}`,
    // Address space is not memory: runtimes reserve far more than they touch. Resident memory of
    // all processes together is what the watchdog holds to `memoryBytes`; this only stops one
    // process from taking the machine where the watchdog cannot count (a non-root server).
    `--as=${Math.max(limits.memoryBytes * 4, 4 * 1024 ** 3)}`,
    `--fsize=${limits.diskBytes}`,
    '--core=0',
    '--nofile=4096',
  ];
}

export function bubblewrapDriver(settings: BubblewrapSettings): SandboxDriver {
  const root = process.getuid?.() === 0;
  return {
    name: 'bubblewrap',
    async open(worktree) {
      const uid = root ? UID_BASE + randomInt(UID_SPAN) : process.getuid!();
      const gid = root ? uid : process.getgid!();
      const scratch = path.join(settings.scratchDir, scratchName(randomBytes(6).toString('hex')));
      const home = path.join(scratch, 'home');
      const tmp = path.join(scratch, 'tmp');
      await mkdir(home, { recursive: true });
      await mkdir(tmp, { recursive: true });
      const etc = path.join(scratch, 'etc');
      await makeEtc(etc);
      if (root) {
        await chown(home, uid, gid);
        await chown(tmp, uid, gid);
        await traversable(scratch, settings.ownDir);
        await traversable(worktree, settings.ownDir);
      }
      let closed = false;
      let runs = 0;
      const sandbox: Sandbox = {
        driver: 'bubblewrap',
        workdir: WORKDIR,
        hostHome: home,
        async run(command, options) {
          if (closed) throw new Error('the sandbox is closed');
          // Files the server wrote since the last run (edits) become the sandbox user's too.
          if (root) await chownTree(worktree, uid, gid, runs++ === 0);
          const { limits } = options;
          const args = bwrapArgs({
            worktree,
            home,
            tmp,
            etc,
            network: options.network ?? false,
            hidden: settings.hidden,
            extraPaths: settings.extraPaths,
            shmBytes: settings.shmBytes ?? 64 * 1024 * 1024,
          });
          return runLimited(
            {
              command,
              // The arguments go through a pipe, not the command line: /proc/1/cmdline inside would show
              // the host paths they name.
              argv: ['prlimit', ...prlimitArgs(limits), '--', 'bwrap', '--args', '3', '--', ...SANDBOX_SHELL, command],
              fd3: Buffer.from(args.map((a) => `${a}\0`).join('')),
              // bwrap's own init inside is started with this environment: it must hold nothing of ours.
              env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
              cwd: '/',
              uid: root ? uid : undefined,
              gid: root ? gid : undefined,
              watchIntervalMs: 500,
              watch: async () => {
                if (root) {
                  const usage = await uidUsage(uid);
                  if (usage.residentBytes > limits.memoryBytes) return 'memory';
                  if (usage.threads >= limits.processes) return 'processes';
                }
                const disk = await diskUsage([worktree, scratch], limits.diskBytes);
                return disk > limits.diskBytes ? 'disk' : null;
              },
              killInside: root ? (leader) => killUid(uid, leader) : undefined,
              killAll: root ? () => killUid(uid) : undefined,
            },
            options,
          );
        },
        async close() {
          if (closed) return;
          closed = true;
          if (root) await killUid(uid);
          await rm(scratch, { recursive: true, force: true });
        },
      };
      return sandbox;
    },
  };
}

/**
 * Lets other uids pass through every folder above `target` (execute, not read: they cannot list
 * them). Only folders inside `ownDir` are changed; any other that does not let them pass is an
 * error that says what to do.
 */
async function traversable(target: string, ownDir: string): Promise<void> {
  const own = path.resolve(ownDir);
  for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
    const info = await stat(dir);
    if (!(info.mode & 0o001)) {
      if (dir === own || dir.startsWith(`${own}${path.sep}`)) await chmod(dir, (info.mode & 0o7777) | 0o001);
      else
        throw new Error(
          `${dir} does not let other users pass (chmod o+x): the sandbox runs as an unprivileged uid and cannot reach ${target}; put KODAH_DATA_DIR where it can`,
        );
    }
    if (dir === path.dirname(dir)) return;
  }
}

/**
 * Gives every file of the work tree to the sandbox's uid, without following links, so that the
 * sandbox may write what the server wrote since the last run (edits, a reset). The first time
 * every entry changes hands; after that only the server's own (`chown --from`: one walk in C,
 * which took the driver's part of a run from 24 to 11 ms on a sympy-size tree, and nothing
 * else's ctime moves).
 */
function chownTree(dir: string, uid: number, gid: number, first: boolean): Promise<void> {
  return chownAll(dir, uid, gid, first ? undefined : process.getuid!());
}
