import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { homedir, networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bubblewrapDriver } from '../src/sandbox/bubblewrap.js';
import {
  sandboxEnv,
  type RunOptions,
  type Sandbox,
  type SandboxDriver,
  type SandboxLimits,
  type SandboxRun,
} from '../src/sandbox/sandbox.js';
import { unsandboxedDriver } from '../src/sandbox/unsandboxed.js';

/**
 * The bubblewrap driver itself, with real bwrap: what a command inside sees (environment,
 * identity, files, network), each limit stopping it (and the sandbox usable after), cancellation,
 * and nothing outliving a run or the sandbox. The end-to-end attacks through a server are in
 * sandbox-attacks.test.ts; these are the driver's own, one fact each.
 */
const root = process.getuid?.() === 0;
const MiB = 1024 * 1024;
const LIMITS: SandboxLimits = {
  timeoutMs: 30_000,
  memoryBytes: 512 * MiB,
  processes: 128,
  outputTailBytes: 4096,
  maxOutputBytes: 4 * MiB,
  diskBytes: 64 * MiB,
};
const CANARY = `kodah-bwrap-canary-${process.pid}`;
/** What bash adds to the environment it was given. */
const BASH_ADDS = ['PWD', 'SHLVL', '_'];

let dataDir: string;
let driver: SandboxDriver;
const opened: Sandbox[] = [];
const canaryFiles: string[] = [];

/** A fresh work tree under the data folder (as jobs have), with a `.git` file as checkouts make. */
function worktree(name: string): string {
  const dir = path.join(dataDir, 'worktrees', `${name}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, '.git'), 'gitdir: /data/mirrors/x/worktrees/y\n');
  writeFileSync(path.join(dir, 'README'), 'hello from the host\n');
  return dir;
}

async function open(name: string, using = driver): Promise<{ sandbox: Sandbox; dir: string; scratch: string }> {
  const dir = worktree(name);
  const sandbox = await using.open(dir);
  opened.push(sandbox);
  return { sandbox, dir, scratch: path.dirname(sandbox.hostHome!) };
}

function run(
  sandbox: Sandbox,
  command: string,
  options: Omit<Partial<RunOptions>, 'limits'> & { limits?: Partial<SandboxLimits> } = {},
): Promise<SandboxRun> {
  return sandbox.run(command, { ...options, limits: { ...LIMITS, ...options.limits } });
}

/** Live (not zombie) host processes whose command line contains `marker`, or (with `uid`) that run as `uid`. */
function hostProcesses(match: { marker?: string; uid?: number }): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if ((match.marker !== undefined && cmdline === match.marker) || (match.uid !== undefined && uid === match.uid))
        found.push(`${pid} uid=${uid} ${cmdline}`);
    } catch {
      // gone while we looked
    }
  }
  return found;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves when `text` has appeared in the output handed to onOutput. */
function outputWatch(text: string): { onOutput: (chunk: Buffer) => void; seen: Promise<void> } {
  let output = '';
  let resolve!: () => void;
  const seen = new Promise<void>((r) => (resolve = r));
  return {
    onOutput: (chunk) => {
      output += chunk.toString();
      if (output.includes(text)) resolve();
    },
    seen,
  };
}

function envKeys(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => line.slice(0, line.indexOf('=')))
    .sort();
}

beforeAll(() => {
  process.env.KODAH_BWRAP_TEST_CANARY = CANARY;
  dataDir = mkdtempSync(path.join(tmpdir(), 'kodah-bwrap-data-'));
  driver = bubblewrapDriver({
    scratchDir: path.join(dataDir, 'sandbox'),
    ownDir: dataDir,
    hidden: [dataDir],
    extraPaths: [],
  });
});

afterAll(async () => {
  delete process.env.KODAH_BWRAP_TEST_CANARY;
  for (const sandbox of opened) await sandbox.close();
  for (const file of canaryFiles) rmSync(file, { recursive: true, force: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the bubblewrap driver: what a command sees', () => {
  let sandbox: Sandbox;
  let dir: string;
  let scratch: string;

  beforeAll(async () => {
    ({ sandbox, dir, scratch } = await open('sees'));
  });

  it('starts with the sandbox environment only: none of the server’s variables, not even in /proc/1/environ', async () => {
    expect(process.env.KODAH_BWRAP_TEST_CANARY).toBe(CANARY);
    const env = await run(sandbox, 'env');
    expect(env.exitCode, env.outputTail).toBe(0);
    expect(env.outputTail).not.toContain(CANARY);
    expect(envKeys(env.outputTail)).toEqual([...Object.keys(sandboxEnv('/home/kodah', '/tmp')), ...BASH_ADDS].sort());
    expect(env.outputTail).toMatch(/^HOME=\/home\/kodah$/m);
    expect(env.outputTail).toMatch(/^PWD=\/workspace$/m);

    // bwrap's own init (pid 1 inside) was started with what the driver gave it: a PATH, nothing else.
    const init = await run(sandbox, "tr '\\0' '\\n' < /proc/1/environ; echo; cat /proc/[0-9]*/environ | grep -ac KODAH_BWRAP_TEST_CANARY");
    expect(init.outputTail).not.toContain(CANARY);
    const [initEnv, leaks] = init.outputTail.trim().split(/\n(?=\d+$)/);
    expect(envKeys(initEnv!)).toEqual(['PATH']);
    expect(leaks).toBe('0');
  });

  it('runs as uid 1000 (kodah) in /workspace, on a read-only root with its own /etc', async () => {
    const id = await run(sandbox, 'id; pwd');
    expect(id.outputTail).toBe('uid=1000(kodah) gid=1000(kodah) groups=1000(kodah)\n/workspace\n');

    const touch = await run(sandbox, 'touch /x');
    expect(touch.exitCode).not.toBe(0);
    expect(touch.outputTail).toMatch(/Read-only file system/);
    const usr = await run(sandbox, 'touch /usr/bin/kodah-x');
    expect(usr.exitCode).not.toBe(0);

    const etc = await run(sandbox, 'test -e /etc/shadow && echo shadow; cat /etc/passwd');
    expect(etc.exitCode).toBe(0);
    expect(etc.outputTail).toBe('root:x:0:0:root:/root:/usr/sbin/nologin\nkodah:x:1000:1000:kodah:/home/kodah:/bin/bash\n');
  });

  it('cannot see the data folder, its scratch folder, or files of the host', async () => {
    const rootCanary = path.join(homedir(), `.kodah-bwrap-canary-${process.pid}`);
    // The server's own folder (node_modules is ignored by git; nothing shows in the tree).
    const repoCanary = path.join(process.cwd(), 'node_modules', `.kodah-bwrap-canary-${process.pid}`);
    for (const file of [rootCanary, repoCanary]) {
      writeFileSync(file, `${CANARY}\n`);
      canaryFiles.push(file);
    }
    const paths = [dataDir, scratch, path.join(scratch, 'home'), rootCanary, repoCanary, process.cwd(), '/etc/shadow'];
    // Each exists on the host: their absence inside is the sandbox's doing.
    for (const p of paths) expect(existsSync(p), p).toBe(true);
    const probe = await run(
      sandbox,
      `for p in ${paths.map((p) => `'${p}'`).join(' ')}; do test -e "$p" && echo "visible $p"; done; cat README`,
    );
    expect(probe.exitCode).toBe(0);
    expect(probe.outputTail).toBe('hello from the host\n');
    const grep = await run(sandbox, `grep -rs -l ${CANARY} /home /tmp /workspace /etc; echo done`);
    expect(grep.outputTail).toBe('done\n');
  });

  it('sees an operator’s extra path read-only, without the hidden paths inside it (nor a hidden file of /etc)', async () => {
    // Outside /tmp, /etc and HOME, which the sandbox has its own of (an extra path there is covered).
    const extra = mkdtempSync(path.join(process.cwd(), 'node_modules', '.kodah-bwrap-extra-'));
    canaryFiles.push(extra);
    chmodSync(extra, 0o755);
    mkdirSync(path.join(extra, 'secret-dir'));
    writeFileSync(path.join(extra, 'tool.sh'), 'echo tool\n');
    writeFileSync(path.join(extra, 'key.pem'), `${CANARY}\n`);
    writeFileSync(path.join(extra, 'secret-dir', 'token'), `${CANARY}\n`);
    const withExtra = bubblewrapDriver({
      scratchDir: path.join(dataDir, 'sandbox'),
      ownDir: dataDir,
      // /etc/shadow is on every host and never in the sandbox's /etc: hiding it must not break a run.
      hidden: [path.join(extra, 'key.pem'), path.join(extra, 'secret-dir'), '/etc/shadow'],
      extraPaths: [extra],
    });
    const { sandbox: inside } = await open('extra', withExtra);
    const probe = await run(
      inside,
      [
        `bash ${extra}/tool.sh`,
        `cat ${extra}/key.pem 2>/dev/null || echo key masked`,
        `ls -A ${extra}/secret-dir; cat ${extra}/secret-dir/token 2>/dev/null || echo folder empty`,
        `touch ${extra}/new 2>/dev/null || echo read-only`,
        'test -e /etc/shadow || echo no shadow',
      ].join('; '),
    );
    expect(probe.outputTail).toBe('tool\nkey masked\nfolder empty\nread-only\nno shadow\n');
  });

  it('writes to the work tree, HOME and /tmp land in the host folders made for them', async () => {
    const hostTmpFile = path.join(tmpdir(), `kodah-bwrap-tmp-${process.pid}`);
    const write = await run(
      sandbox,
      `echo tree > made.txt && mkdir -p sub && echo deep > sub/file && echo home > ~/h.txt && echo tmp > /tmp/${path.basename(hostTmpFile)} && echo ok`,
    );
    expect(write.outputTail).toBe('ok\n');
    expect(readFileSync(path.join(dir, 'made.txt'), 'utf8')).toBe('tree\n');
    expect(readFileSync(path.join(dir, 'sub', 'file'), 'utf8')).toBe('deep\n');
    expect(readFileSync(path.join(sandbox.hostHome!, 'h.txt'), 'utf8')).toBe('home\n');
    expect(readFileSync(path.join(scratch, 'tmp', path.basename(hostTmpFile)), 'utf8')).toBe('tmp\n');
    expect(existsSync(hostTmpFile)).toBe(false);
  });

  it('may write what the server wrote between runs (an edit, a new folder), and only those entries change owner', async () => {
    const own = await open('server-writes');
    expect((await run(own.sandbox, 'echo mine > mine.txt && echo ok')).outputTail).toBe('ok\n');
    const mine = statSync(path.join(own.dir, 'mine.txt'));
    // As the agent's edit tool does: a new file, a new folder, an existing file replaced.
    mkdirSync(path.join(own.dir, 'pkg'));
    writeFileSync(path.join(own.dir, 'pkg', 'new.py'), 'x = 1\n');
    writeFileSync(path.join(own.dir, 'README.tmp'), 'edited\n');
    renameSync(path.join(own.dir, 'README.tmp'), path.join(own.dir, 'README'));
    const appended = await run(own.sandbox, 'echo y >> pkg/new.py && echo more >> README && touch pkg/made && echo ok');
    expect(appended.outputTail).toBe('ok\n');
    expect(readFileSync(path.join(own.dir, 'README'), 'utf8')).toBe('edited\nmore\n');
    if (root) {
      const after = statSync(path.join(own.dir, 'mine.txt'));
      expect(statSync(path.join(own.dir, 'pkg', 'new.py')).uid).toBe(mine.uid);
      // The sandbox's own file was not handed over again: git's index need not look at it.
      expect(after.ctimeMs).toBe(mine.ctimeMs);
    }
  });

  it('cannot rewrite, move or remove /workspace/.git', async () => {
    const before = readFileSync(path.join(dir, '.git'), 'utf8');
    const attempts = await run(
      sandbox,
      [
        "printf 'gitdir: /tmp\\n' > .git && echo rewrote",
        'rm -f .git && echo removed',
        'mv .git moved && echo moved',
        'chmod 777 .git && echo chmodded',
        'echo done',
      ].join('; '),
    );
    expect(attempts.outputTail).toMatch(/done\n$/);
    expect(attempts.outputTail).not.toMatch(/^(rewrote|removed|moved|chmodded)$/m);
    expect(readFileSync(path.join(dir, '.git'), 'utf8')).toBe(before);
    expect(existsSync(path.join(dir, 'moved'))).toBe(false);
  });
});

describe('the bubblewrap driver: network', () => {
  const servers: Server[] = [];
  const connections = { loopback: 0, any: 0 };
  const ports = { loopback: 0, any: 0 };

  beforeAll(async () => {
    for (const [name, host] of [
      ['loopback', '127.0.0.1'],
      ['any', '0.0.0.0'],
    ] as const) {
      const server = createServer((socket) => {
        connections[name]++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      ports[name] = (server.address() as { port: number }).port;
      servers.push(server);
    }
  });
  afterAll(() => {
    for (const server of servers) server.close();
  });

  const hostIp = () =>
    Object.values(networkInterfaces())
      .flat()
      .find((a) => a?.family === 'IPv4' && !a.internal)?.address;
  const connect = (host: string, port: number) =>
    `if timeout 3 bash -c 'echo probe > /dev/tcp/${host}/${port}' 2>/dev/null; then echo "open ${host}:${port}"; else echo "closed ${host}:${port}"; fi`;

  it('reaches no listener of the host, on 127.0.0.1 or on any address', async () => {
    const { sandbox } = await open('net');
    const targets: Array<[string, number]> = [
      ['127.0.0.1', ports.loopback],
      ['127.0.0.1', ports.any],
    ];
    const ip = hostIp();
    if (ip) targets.push([ip, ports.any]);
    const probe = await run(sandbox, targets.map(([host, port]) => connect(host, port)).join('; '));
    expect(probe.outputTail).toBe(targets.map(([host, port]) => `closed ${host}:${port}\n`).join(''));
    expect(connections).toEqual({ loopback: 0, any: 0 });
  });

  it('with network: true shares the host’s network (the flag is what keeps it out)', async () => {
    const { sandbox } = await open('net-on');
    const probe = await run(sandbox, connect('127.0.0.1', ports.loopback), { network: true });
    expect(probe.outputTail).toBe(`open 127.0.0.1:${ports.loopback}\n`);
    await until('the connection', () => connections.loopback === 1);
    // The next command without the flag is shut out again.
    const after = await run(sandbox, connect('127.0.0.1', ports.loopback));
    expect(after.outputTail).toBe(`closed 127.0.0.1:${ports.loopback}\n`);
    expect(connections.loopback).toBe(1);
  });
});

describe('the bubblewrap driver: limits, each followed by a command that works', () => {
  let sandbox: Sandbox;
  let dir: string;

  beforeAll(async () => {
    ({ sandbox, dir } = await open('limits'));
  });

  async function stillUsable(): Promise<void> {
    const next = await run(sandbox, 'true');
    expect(next, JSON.stringify(next)).toMatchObject({ exitCode: 0, limit: null, cancelled: false });
  }

  it('time: stops a command at its wall time', async () => {
    const started = performance.now();
    const result = await run(sandbox, 'sleep 30', { limits: { timeoutMs: 1000 } });
    const seconds = (performance.now() - started) / 1000;
    expect(result).toMatchObject({ limit: 'time', exitCode: null, cancelled: false });
    expect(result.seconds).toBeGreaterThanOrEqual(0.9);
    expect(seconds).toBeLessThan(5);
    await stillUsable();
  });

  it('output: stops a command that prints too much and keeps only the tail', async () => {
    const result = await run(sandbox, 'yes', { limits: { maxOutputBytes: MiB, outputTailBytes: 1000 } });
    expect(result).toMatchObject({ limit: 'output', exitCode: null });
    expect(Buffer.byteLength(result.outputTail)).toBeGreaterThan(0);
    expect(Buffer.byteLength(result.outputTail)).toBeLessThanOrEqual(1000);
    expect(result.outputTail).toMatch(/^[y\n]+$/);
    await stillUsable();
  });

  it('disk: stops a command whose files together pass the limit', async () => {
    const result = await run(sandbox, 'for i in 1 2 3; do head -c 20M /dev/zero > fill$i || exit 1; done; sleep 30', {
      limits: { diskBytes: 32 * MiB },
    });
    expect(result).toMatchObject({ limit: 'disk', exitCode: null });
    expect(result.seconds).toBeLessThan(20);
    // Over the limit is over the limit for the next command too: the files go first.
    for (const name of readdirSync(dir).filter((n) => n.startsWith('fill'))) rmSync(path.join(dir, name));
    await stillUsable();
  });

  it('disk: a single file cannot grow past the limit (SIGXFSZ)', async () => {
    const result = await run(sandbox, 'head -c 48M /dev/zero > big', { limits: { diskBytes: 32 * MiB } });
    expect(result).toMatchObject({ limit: 'disk', exitCode: null });
    expect(statSync(path.join(dir, 'big')).size).toBeLessThanOrEqual(32 * MiB);
    rmSync(path.join(dir, 'big'));
    await stillUsable();
  });

  it.runIf(root)('memory: stops a command whose resident memory passes the limit', async () => {
    const python = "b = bytearray(512 << 20); b[::4096] = b'x' * (len(b) // 4096); import time; time.sleep(30)";
    const result = await run(sandbox, `python3 -c "${python}"`, { limits: { memoryBytes: 128 * MiB } });
    expect(result).toMatchObject({ limit: 'memory', exitCode: null });
    expect(result.seconds).toBeLessThan(20);
    await stillUsable();
  });

  it.runIf(root)('processes: stops a fork bomb', async () => {
    const result = await run(sandbox, 'f(){ f | f & }; f; sleep 30', { limits: { processes: 32 } });
    expect(result).toMatchObject({ limit: 'processes', exitCode: null });
    expect(result.seconds).toBeLessThan(20);
    await stillUsable();
  });

  it('cancellation: an aborted signal stops the command at once', async () => {
    const controller = new AbortController();
    const watch = outputWatch('started');
    const running = run(sandbox, 'echo started; sleep 30', { signal: controller.signal, onOutput: watch.onOutput });
    await watch.seen;
    const aborted = performance.now();
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ cancelled: true, exitCode: null, limit: null });
    expect((performance.now() - aborted) / 1000).toBeLessThan(5);
    await stillUsable();
  });
});

describe('the bubblewrap driver: nothing outlives a run or the sandbox', () => {
  it('a setsid process started in the background dies when its command ends', async () => {
    const { sandbox } = await open('setsid');
    const marker = `sleep 4242.${process.pid}`;
    const watch = outputWatch('alive');
    const running = run(
      sandbox,
      `setsid ${marker} </dev/null >/dev/null 2>&1 & for i in $(seq 100); do pgrep -f '^${marker}$' >/dev/null && break; sleep 0.05; done; echo alive; sleep 1`,
      { onOutput: watch.onOutput },
    );
    await watch.seen;
    // While the command runs the sleeper is there, seen from the host: the check below can see it.
    const seenOnHost = hostProcesses({ marker });
    const result = await running;
    expect(result).toMatchObject({ exitCode: 0, limit: null });
    expect(seenOnHost).toHaveLength(1);
    expect(hostProcesses({ marker })).toEqual([]);
  });

  it('close() kills what is running, as the sandbox’s own uid, and removes the scratch folder', async () => {
    const { sandbox, dir, scratch } = await open('close');
    const marker = `sleep 4343.${process.pid}`;
    const watch = outputWatch('started');
    const running = run(sandbox, `setsid ${marker} </dev/null >/dev/null 2>&1 & echo started; sleep 30`, { onOutput: watch.onOutput });
    await watch.seen;
    await until('the sleeper', () => hostProcesses({ marker }).length === 1);
    // The work tree was given to the sandbox's uid: one of its own, for this sandbox only.
    const uid = statSync(dir).uid;
    if (root) {
      expect(uid).toBeGreaterThanOrEqual(200_000);
      expect(uid).toBeLessThan(260_000);
      expect(hostProcesses({ uid }).length).toBeGreaterThanOrEqual(3);
    }
    expect(existsSync(scratch)).toBe(true);

    await sandbox.close();
    const result = await running;
    expect(result.exitCode).not.toBe(0);
    expect(hostProcesses({ marker })).toEqual([]);
    if (root) expect(hostProcesses({ uid })).toEqual([]);
    expect(existsSync(scratch)).toBe(false);
    // The work tree is the job's: it stays.
    expect(existsSync(path.join(dir, 'README'))).toBe(true);
    await expect(run(sandbox, 'true')).rejects.toThrow(/closed/);
    await sandbox.close();
  });
});

describe('the unsandboxed driver (no isolation, by design): bare environment and limits', () => {
  let sandbox: Sandbox;
  let dir: string;
  let scratch: string;

  beforeAll(async () => {
    ({ sandbox, dir, scratch } = await open('none', unsandboxedDriver({ scratchDir: path.join(dataDir, 'sandbox') })));
  });

  it('starts with the sandbox environment only, in the work tree', async () => {
    const env = await run(sandbox, 'env; pwd');
    expect(env.exitCode).toBe(0);
    expect(env.outputTail).not.toContain(CANARY);
    expect(envKeys(env.outputTail)).toEqual([...Object.keys(sandboxEnv('', '')), ...BASH_ADDS].sort());
    expect(env.outputTail).toContain(`HOME=${sandbox.hostHome}\n`);
    expect(env.outputTail).toContain(`TMPDIR=${path.join(scratch, 'tmp')}\n`);
    expect(env.outputTail).toMatch(new RegExp(`\n${dir}\n$`));
  });

  it('holds time and output to their limits', async () => {
    const slow = await run(sandbox, 'sleep 30', { limits: { timeoutMs: 1000 } });
    expect(slow).toMatchObject({ limit: 'time', exitCode: null });
    expect(slow.seconds).toBeLessThan(5);
    const loud = await run(sandbox, 'yes', { limits: { maxOutputBytes: MiB, outputTailBytes: 1000 } });
    expect(loud).toMatchObject({ limit: 'output', exitCode: null });
    expect(Buffer.byteLength(loud.outputTail)).toBeLessThanOrEqual(1000);
    const next = await run(sandbox, 'echo ok');
    expect(next).toMatchObject({ exitCode: 0, outputTail: 'ok\n' });
  });

  it('removes its scratch folder on close', async () => {
    await sandbox.close();
    expect(existsSync(scratch)).toBe(false);
  });
});
