import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCredits } from '../src/billing/credits.js';
import type { Clock } from '../src/lib/clock.js';
import { FAKE_GITHUB_USER_COOKIE } from './helpers/fake-github.js';
import { type SignInApp, startSignInApp } from './helpers/sign-in-app.js';
import { databaseKinds } from './helpers/test-database.js';
import { waitForJob } from './helpers/test-app.js';
import { waitForIndex } from './helpers/wait-for-index.js';

const FILES = { 'vault/ledger.py': 'def reconcile_vault_ledger(entries):\n    return sum(e["amount"] for e in entries)\n' };
const OWNER = { login: 'acme', id: 9100, type: 'Organization' as const };
const VAULT = { owner: 'acme', name: 'vault', id: 9101 };
/** Covered by the installation, but the user has no permission on it. */
const HIDDEN = { owner: 'acme', name: 'hidden', id: 9102 };
/** The user may read it, but no installation of the App covers it. */
const LOOSE = { owner: 'acme', name: 'loose', id: 9103 };
const INSTALLATION = 7701;
const TTL_S = 60;

/** The `name=value` pairs of a response's Set-Cookie headers. */
function cookiesOf(res: Response): Record<string, string> {
  return Object.fromEntries(res.headers.getSetCookie().map((line) => line.split(';')[0]!.split('=') as [string, string]));
}

/** The OAuth web flow over plain HTTP: /login → the fake's authorize → the callback; the first sign-in's key. */
async function signIn(base: string, login: string): Promise<string> {
  const start = await fetch(`${base}/login`, { redirect: 'manual' });
  const browser = cookiesOf(start).kodah_login!;
  const approved = await fetch(start.headers.get('location')!, {
    redirect: 'manual',
    headers: { cookie: `${FAKE_GITHUB_USER_COOKIE}=${login}` },
  });
  const callback = await fetch(approved.headers.get('location')!, { redirect: 'manual', headers: { cookie: `kodah_login=${browser}` } });
  const key = /kdh_[A-Za-z0-9_-]{32,}/.exec(await callback.text())?.[0];
  if (!key) throw new Error(`no key after signing in as ${login} (${callback.status})`);
  return key;
}

/**
 * A signed-in user's key reaches exactly the private repositories GitHub says the user reaches
 * through an installation of the App, read with that installation's token for that one repository;
 * access GitHub takes away (or a revoked token) is gone once the short cache expires.
 */
describe.each(databaseKinds)('private repositories through the signed-in user on %s', (kind) => {
  let fx: SignInApp;
  let key: string;
  let accountId: string;
  let vaultCommit: string;
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };

  const repoUrl = (repo: { owner: string; name: string }) => fx.host!.cloneUrl(`${repo.owner}/${repo.name}`);
  const fix = (repo: { owner: string; name: string }) => ({
    repo_url: repoUrl(repo),
    task: 'fix',
    description: 'reconcile_vault_ledger is off by one',
  });
  const balance = async () => (await fx.app.api(key, 'GET', '/account')).body.paid_balance_cents as number;
  const userLookups = () => fx.github.requests.filter((r) => r.path === '/user/installations').length;
  /** Installation tokens minted for one repository id, and whether git saw each one. */
  const tokensFor = (repositoryId: number) =>
    fx.github.tokens.filter((t) => t.repositoryIds?.length === 1 && t.repositoryIds[0] === repositoryId);
  const gitSaw = (name: string, token: string) => fx.git.authLog.some((e) => e.repo === name && e.token === token);

  beforeAll(async () => {
    fx = await startSignInApp(
      kind,
      { KODAH_USER_ACCESS_TTL_S: String(TTL_S), KODAH_JOB_RETRIES: '0' },
      { githubApp: true, workers: true, clock },
    );
    vaultCommit = fx.git.createRepo('acme/vault', FILES, { private: true });
    fx.git.createRepo('acme/hidden', FILES, { private: true });
    fx.git.createRepo('acme/loose', FILES, { private: true });
    for (const repo of [VAULT, HIDDEN, LOOSE]) fx.github.addRepo({ ...repo, private: true, ownerId: OWNER.id, ownerType: OWNER.type });
    fx.github.addInstallation({ id: INSTALLATION, account: OWNER, repositoryIds: [VAULT.id, HIDDEN.id] });
    fx.github.setPermission('acme', 'vault', 'alice', 'write');
    fx.github.setPermission('acme', 'loose', 'alice', 'admin');
    fx.github.addOAuthUser({ login: 'alice' });
    key = await signIn(fx.base, 'alice');
    const { rows } = await fx.app.kodah.db.query<{ id: string }>(`SELECT id FROM accounts WHERE github_login = 'alice'`);
    accountId = rows[0]!.id;
    // Private repositories need paid credits: credits are never the reason for an answer here.
    await fx.app.kodah.db.transaction((tx) => addCredits(tx, accountId, 1000, 'grant'));
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('submits and indexes a private repository the user reaches through an installation, cloned with its token', async () => {
    const job = await fx.app.api(key, 'POST', '/jobs', fix(VAULT));
    expect(job.status).toBe(202);
    // No model here: the job fails as our error and is refunded, after the worker read the repository.
    expect(await waitForJob(fx.app, key, job.body.job_id)).toMatchObject({ status: 'failed', error: 'fix engine not configured' });

    const added = await fx.app.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: repoUrl(VAULT) } },
    });
    expect(added.status).toBe(201);
    await waitForIndex(fx.app, key, added.body.data.id, vaultCommit);

    // Every read used a token of the installation scoped to the one repository, and git saw it.
    const minted = tokensFor(VAULT.id);
    expect(minted.length).toBeGreaterThan(0);
    expect(minted.every((t) => t.installationId === INSTALLATION && t.permissions?.contents === 'read')).toBe(true);
    expect(minted.some((t) => gitSaw('acme/vault', t.token))).toBe(true);
    // GitHub was asked with the user's token, once for the submission, the worker and the index together.
    const lookups = fx.github.requests.filter((r) => r.path === '/user/installations');
    expect(lookups).toHaveLength(1);
    expect(lookups[0]!.auth).toMatch(/^Bearer ghu_/);
    expect(fx.github.unhandled).toEqual([]);
  });

  it('answers 404 and charges nothing for a repository no reachable installation covers for this user', async () => {
    const before = await balance();
    for (const repo of [HIDDEN, LOOSE]) {
      expect(await fx.app.api(key, 'POST', '/jobs', fix(repo))).toMatchObject({ status: 404, body: { detail: 'Repository not found' } });
    }
    expect((await fx.app.api(key, 'POST', '/jobs', fix({ owner: 'acme', name: 'nothing-here' }))).body).toEqual({
      detail: 'Repository not found',
    });
    expect(await balance()).toBe(before);
    expect(tokensFor(HIDDEN.id)).toEqual([]);
    expect(tokensFor(LOOSE.id)).toEqual([]);
    expect(fx.git.authLog.filter((e) => e.repo !== 'acme/vault' && e.token !== null)).toEqual([]);
  });

  it('loses access once GitHub takes it away and the cache expires', async () => {
    fx.github.setPermission('acme', 'vault', 'alice', 'none');
    const before = await balance();
    const asked = userLookups();
    offsetMs += (TTL_S + 1) * 1000;
    expect(await fx.app.api(key, 'POST', '/jobs', fix(VAULT))).toMatchObject({ status: 404, body: { detail: 'Repository not found' } });
    expect(userLookups()).toBe(asked + 1);
    expect(await balance()).toBe(before);
    const sync = await fx.app.api(key, 'POST', '/api/v1/indexes', { data: { type: 'index', attributes: { uri: repoUrl(VAULT) } } });
    expect(sync.status).toBe(422);
    expect(sync.body.detail).toMatch(/no repository at .* \(or it is private and no credentials reach it\)/);

    // Given back on GitHub, it is back after the next expiry (the code index asks afresh; a job's
    // check would first wait out the repository check's own short cache of "not found").
    fx.github.setPermission('acme', 'vault', 'alice', 'read');
    offsetMs += (TTL_S + 1) * 1000;
    const back = await fx.app.api(key, 'POST', '/api/v1/indexes', { data: { type: 'index', attributes: { uri: repoUrl(VAULT) } } });
    expect(back.status).toBe(202);
  });

  it('drops a token GitHub revoked, and the access it gave', async () => {
    fx.github.revokeUserTokens('alice');
    offsetMs += (TTL_S + 1) * 1000;
    const sync = await fx.app.api(key, 'POST', '/api/v1/indexes', { data: { type: 'index', attributes: { uri: repoUrl(VAULT) } } });
    expect(sync.status).toBe(422);
    const { rows } = await fx.app.kodah.db.query('SELECT 1 FROM github_user_tokens WHERE account_id = $1', [accountId]);
    expect(rows).toEqual([]);
    // With no token left, GitHub is not asked again: the key reads public repositories only.
    const asked = userLookups();
    offsetMs += (TTL_S + 1) * 1000;
    expect(await fx.app.api(key, 'POST', '/jobs', fix(VAULT))).toMatchObject({ status: 404, body: { detail: 'Repository not found' } });
    expect(
      (await fx.app.api(key, 'POST', '/api/v1/indexes', { data: { type: 'index', attributes: { uri: repoUrl(VAULT) } } })).status,
    ).toBe(422);
    expect(userLookups()).toBe(asked);
  });
});
