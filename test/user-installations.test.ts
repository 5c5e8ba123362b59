import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/logger.js';
import { loadSecretKey } from '../src/web/secret-key.js';
import { UserInstallations } from '../src/web/user-installations.js';
import { FAKE_GITHUB_USER_COOKIE } from './helpers/fake-github.js';
import { type SignInApp, startSignInApp } from './helpers/sign-in-app.js';

const OWNERS = [
  { login: 'pager-one', id: 9301, type: 'Organization' as const },
  { login: 'pager-two', id: 9302, type: 'Organization' as const },
];

/**
 * What GitHub says a user reaches, read page by page with the user's token: every page of both
 * lists, the token never sent to another origin, failures not remembered.
 */
describe('asking GitHub what a signed-in user reaches', () => {
  let fx: SignInApp;
  let accountId: string;
  let reach: UserInstallations;
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };

  beforeAll(async () => {
    fx = await startSignInApp('pglite', {}, { githubApp: true });
    let id = 9310;
    for (const [i, owner] of OWNERS.entries()) {
      const ids: number[] = [];
      for (let n = 0; n < 3; n++) {
        const name = `repo-${n}`;
        fx.git.createRepo(`${owner.login}/${name}`, { 'a.txt': 'a\n' }, { private: n !== 2 });
        fx.github.addRepo({ owner: owner.login, name, id: ++id, private: n !== 2, ownerId: owner.id, ownerType: owner.type });
        // The user may read all but the first repository of the second owner.
        if (!(i === 1 && n === 0)) fx.github.setPermission(owner.login, name, 'pager', 'read');
        ids.push(id);
      }
      fx.github.addInstallation({ id: 9400 + i, account: owner, repositoryIds: ids });
    }
    // An installation the user reaches nothing in.
    fx.github.addInstallation({ id: 9499, account: { login: 'elsewhere', id: 9390, type: 'Organization' }, repositoryIds: [] });
    fx.github.addOAuthUser({ login: 'pager' });
    const start = await fetch(`${fx.base}/login`, { redirect: 'manual' });
    const browser = /kodah_login=([^;]+)/.exec(start.headers.getSetCookie().join('\n'))![1]!;
    const approved = await fetch(start.headers.get('location')!, {
      redirect: 'manual',
      headers: { cookie: `${FAKE_GITHUB_USER_COOKIE}=pager` },
    });
    await fetch(approved.headers.get('location')!, { redirect: 'manual', headers: { cookie: `kodah_login=${browser}` } });
    const { rows } = await fx.app.kodah.db.query<{ id: string }>(`SELECT id FROM accounts WHERE github_login = 'pager'`);
    accountId = rows[0]!.id;
    const config = fx.app.kodah.config;
    reach = new UserInstallations({
      db: fx.app.kodah.db,
      key: await loadSecretKey(config, createLogger('silent')),
      signIn: config.signIn!,
      appId: config.github!.appId,
      ttlMs: 60_000,
      clock,
      log: createLogger('silent'),
      perPage: 2,
    });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('follows every page of the installations and of each one repositories', async () => {
    const answer = (await reach.reach(accountId))!;
    expect(answer.appSlug).toBe('kodah');
    expect(answer.installations.map((i) => [i.id, i.account, i.repositories.map((r) => `${r.fullName}:${r.private}`)])).toEqual([
      [9400, 'pager-one', ['pager-one/repo-0:true', 'pager-one/repo-1:true', 'pager-one/repo-2:false']],
      [9401, 'pager-two', ['pager-two/repo-1:true', 'pager-two/repo-2:false']],
    ]);
    const pages = fx.github.requests.filter((r) => r.path === '/user/installations/9400/repositories').map((r) => r.query.page ?? '1');
    expect(pages).toEqual(['1', '2']);
    expect(await reach.find(accountId, 'PAGER-ONE/Repo-1')).toMatchObject({ installationId: 9400, private: true });
    expect(await reach.find(accountId, 'pager-two/repo-0')).toBeNull();
    expect(fx.github.unhandled).toEqual([]);
  });

  it('never follows a next page on another origin with the token', async () => {
    offsetMs += 61_000;
    fx.github.failNext('GET', /^\/user\/installations$/, {
      status: 200,
      headers: { link: '<http://127.0.0.1:9/user/installations?page=2>; rel="next"' },
      body: { total_count: 9, installations: [] },
    });
    // Following it would fail (nothing listens there); not following it is an empty answer.
    expect((await reach.reach(accountId))!.installations).toEqual([]);
  });

  it('remembers no failure: GitHub answering 502 is retryable and the next question asks again', async () => {
    offsetMs += 61_000;
    fx.github.failNext('GET', /^\/user\/installations$/, { status: 502, body: { message: 'Server Error' } });
    await expect(reach.reach(accountId)).rejects.toMatchObject({ code: 'repository_unavailable', retryable: true });
    expect((await reach.reach(accountId))!.installations).toHaveLength(2);
  });
});
