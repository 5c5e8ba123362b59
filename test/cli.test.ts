import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGitHttpServer } from './helpers/git-http-server.js';
import { freePort, spawnKodah, waitForHealthy } from './helpers/kodah-process.js';
import { callApi } from './helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

async function kodah(args: string[], env: Record<string, string>) {
  const proc = spawnKodah(args, { LOG_LEVEL: 'silent', ...env });
  let stdout = '';
  proc.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await proc.exited;
  return { code, stdout, output: proc.output() };
}

describe('operator CLI on the embedded database', { timeout: 120_000 }, () => {
  // Each test its own data folder.
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeEach(async () => {
    database = await createTestDatabase('pglite');
    env = database.env;
  });
  afterEach(() => database.drop());

  it('creates an account, a key printed alone, credits, shows it, rotates the key', async () => {
    const created = await kodah(['accounts', 'create', '--email', 'ops@example.com', '--github-login', 'octocat'], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created account [0-9a-f-]{36} <ops@example.com>\n$/);

    const key = await kodah(['keys', 'create', '--account', 'OPS@example.com'], env);
    expect(key.code).toBe(0);
    expect(key.stdout).toMatch(/^kdh_[A-Za-z0-9_-]{43}\n$/);

    expect((await kodah(['credits', 'add', '--account', 'ops@example.com', '--usd', '10.00'], env)).stdout).toBe(
      'added $10.00; paid balance $10.00\n',
    );
    const bad = await kodah(['credits', 'add', '--account', 'ops@example.com', '--usd', '-5'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/not an amount in US dollars/);

    const shown = JSON.parse((await kodah(['accounts', 'show', 'ops@example.com', '--json'], env)).stdout);
    expect(shown.account).toMatchObject({ email: 'ops@example.com', githubLogin: 'octocat', paidBalanceCents: 1000 });
    expect(shown.balance.freeCredits).toBe(10);
    expect(shown.keys).toHaveLength(1);

    const rotated = await kodah(['keys', 'rotate', '--account', 'ops@example.com'], env);
    expect(rotated.stdout).toMatch(/^kdh_[A-Za-z0-9_-]{43}\n$/);
    const keys = JSON.parse((await kodah(['accounts', 'show', '--account', 'ops@example.com', '--json'], env)).stdout).keys;
    expect(keys.map((k: { revoked_at: string | null }) => k.revoked_at !== null)).toEqual([true, false]);

    // The rotated-out key is refused by the server at once; the new one works.
    const port = await freePort();
    const server = spawnKodah(['start'], { ...env, PORT: String(port), HOST: '127.0.0.1' });
    try {
      await waitForHealthy(`http://127.0.0.1:${port}`, server);
      const base = `http://127.0.0.1:${port}`;
      expect((await callApi(base, key.stdout.trim(), 'GET', '/account')).status).toBe(401);
      expect((await callApi(base, rotated.stdout.trim(), 'GET', '/account')).body).toMatchObject({
        email: 'ops@example.com',
        paid_balance: 10,
      });

      // The embedded database belongs to the running server: a second server is told so.
      const second = spawnKodah(['start'], { ...env, PORT: String(await freePort()), HOST: '127.0.0.1' });
      expect(await second.exited).not.toBe(0);
      expect(second.output()).toMatch(/in use by process \d+/);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  });

  it('works beside the running server: accounts, keys and credits made while it runs are used at once', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = spawnKodah(['start'], { ...env, PORT: String(port) });
    try {
      await waitForHealthy(base, server);
      // The server listens on loopback unless HOST says otherwise.
      expect(server.output()).toMatch(/"http":"http:\/\/127\.0\.0\.1:\d+"/);
      const created = await kodah(['accounts', 'create', '--email', 'live@example.com', '--json'], env);
      expect(created.code).toBe(0);
      const account = JSON.parse(created.stdout);
      const key = await kodah(['keys', 'create', '--account', 'live@example.com'], env);
      expect(key.stdout).toMatch(/^kdh_[A-Za-z0-9_-]{43}\n$/);
      expect((await kodah(['credits', 'add', '--account', account.id, '--usd', '2.50'], env)).stdout).toBe(
        'added $2.50; paid balance $2.50\n',
      );
      await kodah(['accounts', 'create', '--email', 'app@example.com', '--github-login', 'octo-org'], env);

      const listed = await kodah(['accounts', 'list', '--json'], env);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual([
        {
          id: account.id,
          email: 'live@example.com',
          githubLogin: null,
          paidBalanceCents: 250,
          freeCredits: 10,
          activeKeys: 1,
          createdAt: account.createdAt,
        },
        expect.objectContaining({ email: 'app@example.com', githubLogin: 'octo-org', paidBalanceCents: 0, activeKeys: 0 }),
      ]);
      const text = (await kodah(['accounts', 'list'], env)).stdout.split('\n');
      expect(text[0]).toMatch(/^id\s+email\s+github\s+paid\s+free\s+keys\s+created$/);
      expect(text[1]).toMatch(new RegExp(`^${account.id}\\s+live@example.com\\s+-\\s+\\$2\\.50\\s+10\\s+1\\s+\\d{4}-\\d\\d-\\d\\d$`));

      // The server sees all of it at once: the key works, with the balance the CLI added.
      expect((await callApi(base, key.stdout.trim(), 'GET', '/account')).body).toMatchObject({
        email: 'live@example.com',
        paid_balance: 2.5,
      });
      // A refused write says why and changes nothing; the server goes on.
      const dup = await kodah(['accounts', 'create', '--email', 'LIVE@example.com'], env);
      expect(dup.code).toBe(1);
      expect(dup.output).toMatch(/already exists/);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
    // Stopped, the server leaves no socket behind; the commands open the folder themselves again.
    expect(existsSync(path.join(env.KODAH_DATA_DIR!, 'kodah.sock'))).toBe(false);
    expect(JSON.parse((await kodah(['accounts', 'list', '--json'], env)).stdout)).toHaveLength(2);
  });

  it('marks the accounts that may read private repositories with KODAH_GIT_TOKENS; the server holds the others to public ones', async () => {
    const git = await startGitHttpServer();
    try {
      git.createRepo('vault', { 'vault.py': 'SECRET = 1\n' }, { private: true });
      const created = await kodah(['accounts', 'create', '--email', 'ops@example.com', '--operator-tokens'], env);
      expect(created.stdout).toMatch(/^created account [0-9a-f-]{36} <ops@example.com>; it may use the operator's KODAH_GIT_TOKENS\n$/);
      expect((await kodah(['accounts', 'create', '--email', 'guest@example.com'], env)).code).toBe(0);
      expect((await kodah(['accounts', 'show', 'ops@example.com'], env)).stdout).toMatch(/^git tokens {4}KODAH_GIT_TOKENS allowed$/m);

      const bad = await kodah(['accounts', 'operator-tokens', 'guest@example.com', 'yes'], env);
      expect(bad.code).not.toBe(0);
      expect(bad.output).toMatch(/expected on or off/);
      const on = await kodah(['accounts', 'operator-tokens', 'GUEST@example.com', 'on'], env);
      expect(on.stdout).toMatch(/<guest@example.com> may read private repositories with KODAH_GIT_TOKENS\n$/);
      const off = await kodah(['accounts', 'operator-tokens', 'guest@example.com', 'off', '--json'], env);
      expect(JSON.parse(off.stdout)).toMatchObject({ email: 'guest@example.com', usesOperatorTokens: false });

      const ops = (await kodah(['keys', 'create', '--account', 'ops@example.com'], env)).stdout.trim();
      const guest = (await kodah(['keys', 'create', '--account', 'guest@example.com'], env)).stdout.trim();
      const port = await freePort();
      const server = spawnKodah(['start'], {
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
        KODAH_ALLOW_LOCAL_GIT: '1',
        KODAH_GIT_TOKENS: `127.0.0.1=${git.token}`,
      });
      try {
        const base = `http://127.0.0.1:${port}`;
        await waitForHealthy(base, server);
        const add = (key: string) =>
          callApi(base, key, 'POST', '/api/v1/repositories', {
            data: { type: 'repository', attributes: { remote_uri: git.url('vault') } },
          });
        expect((await add(ops)).status).toBe(201);
        const refused = await add(guest);
        expect(refused.status).toBe(422);
        expect(refused.body.detail).toMatch(/no repository at .* \(or it is private and no credentials reach it\)/);
      } finally {
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
      }
    } finally {
      await git.close();
    }
  });

  it('refuses a bad configuration naming the variable, and worker processes without PostgreSQL', async () => {
    const bad = await kodah(['start'], { ...env, PORT: 'http' });
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/PORT/);
    const worker = await kodah(['worker'], env);
    expect(worker.code).toBe(1);
    expect(worker.output).toMatch(/kodah worker needs DATABASE_URL/);
    const unknown = await kodah(['accounts', 'show', 'nobody@example.com'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/No account nobody@example.com/);
  });

  it('makes the embedded database in an empty data folder on first use', async () => {
    // Every other test copies an initialised template; this one is a fresh machine's first start.
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kodah-empty-'));
    try {
      const created = await kodah(['accounts', 'create', '--email', 'first@example.com'], { KODAH_DATA_DIR: dataDir });
      expect(created.code, created.output).toBe(0);
      expect(existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("says what a command's own usage error is, and prints commander's parse errors once", async () => {
    const unnamed = await kodah(['accounts', 'show'], env);
    expect(unnamed.code).toBe(1);
    expect(unnamed.output).toMatch(/name the account: kodah accounts show <id\|email>/);
    const badUsd = await kodah(['credits', 'add', '--account', 'ops@example.com', '--usd', 'ten'], env);
    expect(badUsd.code).not.toBe(0);
    expect(badUsd.output.match(/not an amount in US dollars/g)).toHaveLength(1);
  });
});
