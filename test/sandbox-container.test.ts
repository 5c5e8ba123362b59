import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/lib/logger.js';
import { containerDriver, probeContainerEngine, pruneContainers } from '../src/sandbox/container.js';
import type { Sandbox, SandboxLimits } from '../src/sandbox/sandbox.js';
import { selectSandbox } from '../src/sandbox/select-driver.js';
import { startFakeDocker, type FakeDocker } from './helpers/fake-docker.js';

const limits: SandboxLimits = {
  timeoutMs: 10_000,
  memoryBytes: 256 * 1024 * 1024,
  processes: 128,
  outputTailBytes: 1024,
  maxOutputBytes: 64 * 1024,
  diskBytes: 64 * 1024 * 1024,
};

const SWEEP = 'kill -9 -1';

describe('container driver against a fake Docker daemon', () => {
  let docker: FakeDocker;
  let worktree: string;
  let sandbox: Sandbox | undefined;

  beforeEach(async () => {
    docker = await startFakeDocker();
    docker.images.add('kodah/sandbox:1');
    worktree = mkdtempSync(path.join(tmpdir(), 'kodah-worktree-'));
    writeFileSync(path.join(worktree, 'README.md'), 'hello\n');
    sandbox = undefined;
  });
  afterEach(async () => {
    await sandbox?.close();
    await docker.close();
    rmSync(worktree, { recursive: true, force: true });
  });

  const open = async (settings: { diskPollMs?: number; image?: string } = {}) => {
    const driver = containerDriver({
      host: `unix://${docker.socketPath}`,
      image: 'kodah/sandbox:1',
      cpus: 8,
      user: '1000:1000',
      ...settings,
    });
    sandbox = await driver.open(worktree);
    return sandbox;
  };
  const creates = () => docker.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/containers/create'));

  it('runs a command in one isolated container: output streamed and its tail kept, exit code, leftovers swept', async () => {
    docker.onExec((command) =>
      command === 'npm test'
        ? {
            output: [
              [1, 'x'.repeat(2000)],
              [1, 'ran 3 tests\n'],
              [2, 'FAIL: test_total\n'],
            ],
            exitCode: 3,
          }
        : {},
    );
    const box = await open();
    expect(box.driver).toBe('container');
    expect(box.workdir).toBe('/workspace');
    const chunks: Buffer[] = [];
    const run = await box.run('npm test', { limits, onOutput: (c) => chunks.push(c) });
    expect(run).toMatchObject({ command: 'npm test', exitCode: 3, limit: null, cancelled: false });
    expect(Buffer.concat(chunks).toString()).toBe(`${'x'.repeat(2000)}ran 3 tests\nFAIL: test_total\n`);
    expect(run.outputTail.length).toBe(1024);
    expect(run.outputTail.endsWith('ran 3 tests\nFAIL: test_total\n')).toBe(true);

    const [create] = creates();
    expect(create!.path).toMatch(/^\/containers\/create\?name=kodah-[0-9a-f]+-1$/);
    expect(create!.body.HostConfig).toMatchObject({ NetworkMode: 'none', Binds: [`${worktree}:/workspace:rw`], ReadonlyRootfs: true });
    // CPUs are held to what the engine's machine has.
    expect(create!.body.HostConfig.NanoCpus).toBe(4e9);
    const container = [...docker.containers.values()][0]!;
    expect(container.commands).toEqual(['npm test', expect.stringContaining(SWEEP)]);
    const execs = docker.requests.filter((r) => r.path.endsWith('/exec') && r.method === 'POST');
    expect(execs.map((e) => e.body.User)).toEqual(['1000:1000', '1000:1000']);
    expect(container.config.User).not.toBe('1000:1000');

    // The next command runs in the same container.
    expect((await box.run('true', { limits })).exitCode).toBe(0);
    expect(creates()).toHaveLength(1);
  });

  it('kills the container at the time limit, and the next command gets a fresh one', async () => {
    docker.onExec((command) => (command === 'sleep 100' ? { output: [[1, 'started\n']], hang: true } : {}));
    const box = await open();
    const run = await box.run('sleep 100', { limits: { ...limits, timeoutMs: 300 } });
    expect(run).toMatchObject({ exitCode: null, limit: 'time', cancelled: false, outputTail: 'started\n' });
    expect(run.seconds).toBeGreaterThanOrEqual(0.3);
    expect(run.seconds).toBeLessThan(5);
    const first = creates()[0]!;
    expect(docker.containers.size).toBe(0);
    expect(docker.removed).toHaveLength(1);
    expect(docker.requests.some((r) => r.method === 'POST' && r.path === `/containers/${docker.removed[0]}/kill`)).toBe(true);

    const next = await box.run('echo hi', { limits });
    expect(next.exitCode).toBe(0);
    expect(creates()).toHaveLength(2);
    expect(creates()[1]!.path).not.toBe(first.path);
  });

  it('stops a command past the output cap, and one whose job is cancelled', async () => {
    docker.onExec((command) =>
      command === 'yes' ? { output: Array.from({ length: 20 }, () => [1, 'y\n'.repeat(1000)]), hang: true } : { hang: true },
    );
    const box = await open();
    const flood = await box.run('yes', { limits: { ...limits, maxOutputBytes: 5000 } });
    expect(flood).toMatchObject({ exitCode: null, limit: 'output', cancelled: false });

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const cancelled = await box.run('sleep 100', { limits, signal: controller.signal });
    expect(cancelled).toMatchObject({ exitCode: null, limit: null, cancelled: true });
    expect(docker.containers.size).toBe(0);

    // Cancelled before it starts: nothing runs at all.
    const before = docker.requests.length;
    expect(await box.run('sleep 100', { limits, signal: AbortSignal.abort() })).toMatchObject({ cancelled: true, exitCode: null });
    expect(docker.requests.length).toBe(before);
  });

  it('stops a command whose work tree grows past the disk limit', async () => {
    docker.onExec((command) =>
      command === 'make big'
        ? { hang: true, onStart: () => writeFileSync(path.join(worktree, 'big.bin'), Buffer.alloc(256 * 1024, 1)) }
        : {},
    );
    const box = await open({ diskPollMs: 50 });
    const run = await box.run('make big', { limits: { ...limits, diskBytes: 128 * 1024 } });
    expect(run).toMatchObject({ exitCode: null, limit: 'disk' });
  });

  it('reports memory when the cgroup counted an OOM kill during the command, and processes when forks were refused', async () => {
    let oomKills = 0;
    let pidsMax = 0;
    docker.onExec((command) => {
      if (command.includes(SWEEP)) return { output: [[1, `memory.oom 1\nmemory.oom_kill ${oomKills}\npids.max ${pidsMax}\n`]] };
      if (command === 'python eat.py') oomKills++;
      if (command === 'forkbomb') pidsMax += 3;
      return { output: [[2, 'Killed\n']], exitCode: 137 };
    });
    const box = await open();
    expect(await box.run('python eat.py', { limits })).toMatchObject({ exitCode: null, limit: 'memory' });
    // The counter is not reset; only a new kill counts.
    expect(await box.run('false', { limits })).toMatchObject({ exitCode: 137, limit: null });
    expect(await box.run('forkbomb', { limits })).toMatchObject({ exitCode: null, limit: 'processes' });
  });

  it('lets go of output held open by a process the command left running, once the command has exited', async () => {
    docker.onExec((command) => (command === 'server &' ? { output: [[1, 'listening\n']], exitCode: 0, holdOpen: true } : {}));
    const box = await open({ diskPollMs: 50 });
    const run = await box.run('server &', { limits });
    expect(run).toMatchObject({ exitCode: 0, limit: null, outputTail: 'listening\n' });
    expect(run.seconds).toBeLessThan(5);
    // The sweep ran after it, which kills what it left.
    expect([...docker.containers.values()][0]!.commands).toEqual(['server &', expect.stringContaining(SWEEP)]);
  });

  it('starts over when the container died between commands', async () => {
    const box = await open();
    expect((await box.run('true', { limits })).exitCode).toBe(0);
    docker.stop([...docker.containers.keys()][0]!);
    expect((await box.run('true', { limits })).exitCode).toBe(0);
    expect(creates()).toHaveLength(2);
    expect(docker.containers.size).toBe(1);
  });

  it('gives a networked setup run a container of its own, removed afterwards', async () => {
    const box = await open();
    await box.run('true', { limits });
    const main = [...docker.containers.keys()];
    const setup = await box.run('pip install -r requirements.txt', { limits, network: true });
    expect(setup.exitCode).toBe(0);
    expect(creates()).toHaveLength(2);
    expect(creates()[1]!.body.HostConfig.NetworkMode).toBe('bridge');
    expect(creates()[1]!.body.HostConfig.Binds).toEqual(creates()[0]!.body.HostConfig.Binds);
    expect([...docker.containers.keys()]).toEqual(main);
    expect(docker.removed).toHaveLength(1);
  });

  it('makes a new container when a command needs other container limits', async () => {
    const box = await open();
    await box.run('true', { limits });
    await box.run('true', { limits: { ...limits, timeoutMs: 5000 } });
    expect(creates()).toHaveLength(1);
    await box.run('true', { limits: { ...limits, memoryBytes: 1024 ** 3 } });
    expect(creates()).toHaveLength(2);
    expect(creates()[1]!.body.HostConfig.Memory).toBe(1024 ** 3);
    expect(docker.containers.size).toBe(1);
  });

  it("runs the image open() names (the repository's, once the operator allowed it), else the driver's own", async () => {
    docker.images.add('python:3.12-slim');
    const driver = containerDriver({ host: docker.socketPath, image: 'kodah/sandbox:1', user: '1000:1000' });
    sandbox = await driver.open(worktree, { image: 'python:3.12-slim' });
    await sandbox.run('true', { limits });
    await sandbox.close();
    sandbox = await driver.open(worktree);
    await sandbox.run('true', { limits });
    expect(creates().map((c) => c.body.Image)).toEqual(['python:3.12-slim', 'kodah/sandbox:1']);
  });

  it('is chosen and set up from the environment: engine, image, user and SELinux relabelling', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kodah-data-'));
    try {
      const config = loadConfig({
        KODAH_DATA_DIR: dataDir,
        KODAH_SANDBOX: 'container',
        KODAH_SANDBOX_DOCKER_HOST: `unix://${docker.socketPath}`,
        KODAH_SANDBOX_IMAGE: 'kodah/sandbox:1',
        KODAH_SANDBOX_CONTAINER_USER: '1234:1234',
        KODAH_SANDBOX_SELINUX_RELABEL: '1',
      });
      const choice = await selectSandbox(config, createLogger('silent'));
      expect(choice).toMatchObject({ driver: { name: 'container' }, problem: null });
      sandbox = await choice.driver!.open(worktree);
      expect((await sandbox.run('id -u', { limits })).exitCode).toBe(0);
      expect(creates()[0]!.body).toMatchObject({ Image: 'kodah/sandbox:1', HostConfig: { Binds: [`${worktree}:/workspace:rw,z`] } });
      const execs = docker.requests.filter((r) => r.method === 'POST' && /^\/containers\/[^/]+\/exec$/.test(r.path));
      expect(execs[0]!.body.User).toBe('1234:1234');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reads the stream of an engine that answers 200 instead of upgrading', async () => {
    docker.upgrade = false;
    docker.onExec((command) => (command === 'echo ok' ? { output: [[1, 'ok\n']], exitCode: 0 } : {}));
    const box = await open();
    expect(await box.run('echo ok', { limits })).toMatchObject({ exitCode: 0, outputTail: 'ok\n' });
  });

  it('binds .git read-only over itself when the work tree has one', async () => {
    mkdirSync(path.join(worktree, '.git'));
    const box = await open();
    await box.run('true', { limits });
    expect(creates()[0]!.body.HostConfig.Binds).toEqual([`${worktree}:/workspace:rw`, `${worktree}/.git:/workspace/.git:ro`]);
  });

  it('close removes the container; twice is fine; a closed sandbox runs nothing', async () => {
    const box = await open();
    await box.run('true', { limits });
    const [id] = [...docker.containers.keys()];
    await box.close();
    expect(docker.containers.size).toBe(0);
    expect(docker.requests.some((r) => r.method === 'DELETE' && r.path === `/containers/${id}?force=true&v=true`)).toBe(true);
    await box.close();
    await expect(box.run('true', { limits })).rejects.toThrow(/closed/);
  });

  it('close during a command ends it as cancelled and leaves nothing', async () => {
    docker.onExec(() => ({ hang: true }));
    const box = await open();
    const running = box.run('sleep 100', { limits });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await box.close();
    expect(await running).toMatchObject({ exitCode: null, cancelled: true });
    expect(docker.containers.size).toBe(0);
  });

  it('says which image is missing and how to get it, and does not pull', async () => {
    const driver = containerDriver({ host: docker.socketPath, image: 'acme/missing:2' });
    await expect(driver.open(worktree)).rejects.toThrow(
      /acme\/missing:2 is not on the container engine.*No such image.*docker pull acme\/missing:2/,
    );
    await expect(driver.open(worktree, { image: 'x;rm -rf /' })).rejects.toThrow(/not a container image name/);
    expect(docker.requests.some((r) => r.path.includes('/images/create'))).toBe(false);
  });

  it('says when the engine cannot be reached', async () => {
    const driver = containerDriver({ host: path.join(worktree, 'no.sock'), image: 'kodah/sandbox:1' });
    await expect(driver.open(worktree)).rejects.toThrow(/Cannot reach the container engine at .*no\.sock/);
    expect(await probeContainerEngine(path.join(worktree, 'no.sock'))).toBe(false);
    expect(await probeContainerEngine(docker.socketPath)).toBe(true);
  });

  it('prunes what dead workers of this host left, and with an age, anything that old', async () => {
    const dead = spawnSync('true').pid!;
    const live = await open();
    await live.run('true', { limits });
    docker.addContainer('kodah-dead-1', {
      'io.kodah.sandbox': '1',
      'io.kodah.sandbox.host': hostname(),
      'io.kodah.sandbox.pid': String(dead),
    });
    docker.addContainer(
      'kodah-elsewhere-1',
      { 'io.kodah.sandbox': '1', 'io.kodah.sandbox.host': 'other-host', 'io.kodah.sandbox.pid': '1' },
      3600,
    );
    docker.addContainer('unrelated', { 'com.example': '1' }, 7200);
    expect(await pruneContainers(docker.socketPath)).toEqual(['kodah-dead-1']);
    expect(await pruneContainers(docker.socketPath, { olderThanMs: 60_000 })).toEqual(['kodah-elsewhere-1']);
    // The live sandbox's container and the unrelated one stay.
    expect([...docker.containers.values()].map((c) => c.name).sort()).toEqual([expect.stringMatching(/^kodah-[0-9a-f]+-1$/), 'unrelated']);
  });
});
