import { afterEach, describe, expect, it } from 'vitest';
import { containerCreateRequest, execCreateRequest, parseSweep, validImageName } from './container-requests.js';
import { demultiplexer, parseDockerHost } from './docker-api.js';
import type { SandboxLimits } from './sandbox.js';

const limits: SandboxLimits = {
  timeoutMs: 60_000,
  memoryBytes: 512 * 1024 * 1024,
  processes: 256,
  outputTailBytes: 4096,
  maxOutputBytes: 1024 * 1024,
  diskBytes: 256 * 1024 * 1024,
};

const request = (over: Partial<Parameters<typeof containerCreateRequest>[0]> = {}) =>
  containerCreateRequest({
    image: 'node:20',
    worktree: '/data/work/job-1',
    limits,
    cpus: 1.5,
    network: false,
    name: 'kodah-x-1',
    ...over,
  }) as any;

describe('containerCreateRequest', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('isolates: no network, the work tree the only mount, read-only image, no capabilities, not root', () => {
    const body = request();
    expect(body.Image).toBe('node:20');
    expect(body.WorkingDir).toBe('/workspace');
    expect(body.HostConfig.NetworkMode).toBe('none');
    expect(body.NetworkDisabled).toBe(true);
    expect(body.HostConfig.Binds).toEqual(['/data/work/job-1:/workspace:rw']);
    expect(body.HostConfig.Mounts).toBeUndefined();
    expect(body.HostConfig.VolumesFrom).toBeUndefined();
    expect(body.HostConfig.ReadonlyRootfs).toBe(true);
    expect(body.HostConfig.CapDrop).toEqual(['ALL']);
    expect(body.HostConfig.CapAdd).toBeUndefined();
    expect(body.HostConfig.Privileged).toBe(false);
    expect(body.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(body.HostConfig.Init).toBe(true);
    expect(body.HostConfig.AutoRemove).toBe(false);
    expect(body.User).toMatch(/^\d+:\d+$/);
    expect(body.User.startsWith('0:')).toBe(false);
    expect(body.Labels['io.kodah.sandbox']).toBe('1');
    // The image's entrypoint does not run.
    expect(body.Entrypoint).toEqual(['sleep']);
  });

  it('holds memory (without swap), CPU, processes and file size to the limits', () => {
    const body = request();
    expect(body.HostConfig.Memory).toBe(limits.memoryBytes);
    expect(body.HostConfig.MemorySwap).toBe(limits.memoryBytes);
    expect(body.HostConfig.NanoCpus).toBe(1_500_000_000);
    expect(body.HostConfig.PidsLimit).toBe(256);
    expect(body.HostConfig.Ulimits).toContainEqual({ Name: 'fsize', Soft: limits.diskBytes, Hard: limits.diskBytes });
    expect(Object.keys(body.HostConfig.Tmpfs).sort()).toEqual(['/home/kodah', '/tmp']);
    for (const options of Object.values(body.HostConfig.Tmpfs) as string[]) {
      expect(options).toContain(`size=${limits.diskBytes}`);
      // Docker's default for tmpfs is noexec; go test and pip builds run programs from /tmp.
      expect(options.split(',')).toContain('exec');
      expect(options.split(',')).toContain('nosuid');
    }
  });

  it('passes on nothing of the server environment', () => {
    process.env.OPENAI_API_KEY = 'canary-openai';
    process.env.DATABASE_URL = 'postgres://canary-db';
    process.env.GITHUB_TOKEN = 'canary-gh';
    const text = JSON.stringify(request()) + JSON.stringify(execCreateRequest('npm test', '1000:1000'));
    expect(text).not.toContain('canary');
    const env = request().Env as string[];
    expect(env).toContain('HOME=/home/kodah');
    expect(env).toContain('TMPDIR=/tmp');
    expect(env.map((e) => e.split('=')[0]).sort()).toEqual(
      ['CI', 'HOME', 'LANG', 'LOGNAME', 'PATH', 'PIP_DISABLE_PIP_VERSION_CHECK', 'PYTHONDONTWRITEBYTECODE', 'TMPDIR', 'USER'].sort(),
    );
  });

  it('gives a setup run the bridge network only when asked', () => {
    expect(request({ network: true }).HostConfig.NetworkMode).toBe('bridge');
    expect(request({ network: true }).NetworkDisabled).toBe(false);
  });

  it('binds .git read-only over itself, still inside the work tree', () => {
    const binds = request({ readOnlyGit: true, selinuxRelabel: true }).HostConfig.Binds as string[];
    expect(binds).toEqual(['/data/work/job-1:/workspace:rw,z', '/data/work/job-1/.git:/workspace/.git:ro,z']);
  });

  it('refuses a work tree that is relative or would break the bind syntax', () => {
    expect(() => request({ worktree: 'work/job' })).toThrow(/absolute/);
    expect(() => request({ worktree: '/data/x:/etc' })).toThrow(/':'/);
  });
});

describe('execCreateRequest', () => {
  it('runs the command with bash -c in the work tree, attached, without a TTY, as the given user', () => {
    expect(execCreateRequest('pytest -x', '1000:1000')).toMatchObject({
      Cmd: ['bash', '-c', 'pytest -x'],
      User: '1000:1000',
      WorkingDir: '/workspace',
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: false,
      Tty: false,
      Privileged: false,
    });
  });
});

const frame = (stream: number, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('demultiplexer', () => {
  const collect = (chunks: Buffer[]) => {
    const frames: Array<[number, string]> = [];
    const push = demultiplexer((stream, payload) => frames.push([stream, payload.toString()]));
    for (const chunk of chunks) push(chunk);
    return frames;
  };

  it('reads frames split at every byte, and several frames in one chunk', () => {
    const wire = Buffer.concat([frame(1, 'hello '), frame(2, 'wörld\n'), frame(1, ''), frame(1, 'done')]);
    const oneByOne = collect([...wire].map((b) => Buffer.from([b])));
    expect(oneByOne).toEqual([
      [1, 'hello '],
      [2, 'wörld\n'],
      [1, 'done'],
    ]);
    expect(collect([wire])).toEqual(oneByOne);
    expect(collect([wire.subarray(0, 3), wire.subarray(3, 17), wire.subarray(17)])).toEqual(oneByOne);
  });

  it('holds back a frame until all of it is there', () => {
    const wire = frame(1, 'abcdef');
    expect(collect([wire.subarray(0, 10)])).toEqual([]);
  });

  it('passes a stream that is not multiplexed through as it is', () => {
    expect(collect([Buffer.from('plain '), Buffer.from('text')])).toEqual([
      [1, 'plain '],
      [1, 'text'],
    ]);
  });
});

describe('parseSweep', () => {
  it('reads the OOM kills and refused forks of cgroup v2 and v1', () => {
    expect(parseSweep('memory.low 0\nmemory.high 0\nmemory.max 4\nmemory.oom 2\nmemory.oom_kill 2\npids.max 7\n')).toEqual({
      oomKills: 2,
      pidsMax: 7,
    });
    expect(parseSweep('memory.oom_kill_disable 0\nmemory.under_oom 0\nmemory.oom_kill 1\n')).toEqual({ oomKills: 1, pidsMax: 0 });
    expect(parseSweep('')).toEqual({ oomKills: 0, pidsMax: 0 });
  });
});

describe('validImageName', () => {
  it('takes image references and nothing else', () => {
    for (const ok of [
      'node:20',
      'python:3.12-slim',
      'ghcr.io/acme/ci-image:1.2',
      'localhost:5000/x/y',
      `alpine@sha256:${'a'.repeat(64)}`,
    ]) {
      expect(validImageName(ok), ok).toBe(true);
    }
    for (const bad of ['', '../containers/x', 'Node', 'node 20', 'x;rm -rf /', '--help', 'node:20/../../x', 'a//b', 'node:', '/x']) {
      expect(validImageName(bad), bad).toBe(false);
    }
  });
});

describe('parseDockerHost', () => {
  it('reads socket paths and tcp addresses', () => {
    expect(parseDockerHost('/var/run/docker.sock')).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(parseDockerHost('unix:///run/podman/podman.sock')).toEqual({ socketPath: '/run/podman/podman.sock' });
    expect(parseDockerHost('tcp://10.0.0.5:2375')).toEqual({ host: '10.0.0.5', port: 2375 });
    expect(parseDockerHost('tcp://[::1]:2375')).toEqual({ host: '::1', port: 2375 });
    expect(() => parseDockerHost('ssh://me@host')).toThrow(/tcp:\/\/host:port/);
    expect(() => parseDockerHost('unix://relative.sock')).toThrow(/absolute/);
  });
});
