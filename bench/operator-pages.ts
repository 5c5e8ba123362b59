/**
 * Time to first byte and to the last byte of the repositories page (a user reaching 60
 * repositories through two installations, 100 jobs) with GitHub's answer cached and with GitHub
 * asked on every load (KODAH_USER_ACCESS_TTL_S=0: every page of both lists from the fake GitHub),
 * and of the operator page with 200 accounts and 200 jobs. One request after another, PGlite.
 *
 *   npx tsx bench/operator-pages.ts -- [--loads 100]
 */
import { parseArgs } from 'node:util';
import { measurePageLoads, type PageLoads, pageRow } from './page-loads.js';
import { addCredits } from '../src/billing/credits.js';
import { type DashboardFixture, signInContext, startDashboardFixture } from '../test/helpers/dashboard-fixture.js';

const { values } = parseArgs({ options: { loads: { type: 'string', default: '100' } }, strict: false });
const LOADS = Number(values.loads);

/** Two organisations with 30 repositories each, all readable by `login`, and `jobs` of the user's. */
async function populate(fx: DashboardFixture, login: string, jobs: number): Promise<string> {
  let id = 70_000;
  for (const [n, org] of ['bench-org-a', 'bench-org-b'].entries()) {
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) {
      const name = `repo-${i}`;
      fx.git.createRepo(`${org}/${name}`, { 'a.txt': 'a\n' }, { private: i % 3 !== 0 });
      fx.github.addRepo({ owner: org, name, id: ++id, private: i % 3 !== 0, ownerId: 80_000 + n });
      fx.github.setPermission(org, name, login, 'read');
      ids.push(id);
    }
    fx.github.addInstallation({ id: 90_000 + n, account: { login: org, id: 80_000 + n, type: 'Organization' }, repositoryIds: ids });
  }
  fx.newUser(login);
  const { context } = await signInContext(fx, login);
  const cookie = (await context.cookies(fx.base)).map((c) => `${c.name}=${c.value}`).join('; ');
  const accountId = await fx.accountOf(login);
  for (let i = 0; i < jobs; i++) await fx.insertJob(accountId, { repo: fx.host!.cloneUrl(`bench-org-a/repo-${i % 30}`) });
  return cookie;
}

const rows: Array<[string, PageLoads]> = [];
for (const ttl of ['60', '0']) {
  const fx = await startDashboardFixture('pglite', { KODAH_ADMINS: 'bench-admin', KODAH_USER_ACCESS_TTL_S: ttl }, { githubApp: true });
  try {
    const cookie = await populate(fx, 'bench-admin', 100);
    rows.push([
      `repositories (${ttl === '0' ? 'GitHub asked' : 'cached'})`,
      await measurePageLoads(`${fx.base}/repositories.html`, cookie, LOADS),
    ]);
    if (ttl === '60') {
      for (let i = 0; i < 198; i++) {
        const { id } = await fx.app.account({ email: `bench-${i}@example.com` });
        await fx.app.kodah.db.transaction((tx) => addCredits(tx, id, 100 + i, 'grant'));
        await fx.insertJob(id);
      }
      rows.push(['operator (200 accounts, jobs)', await measurePageLoads(`${fx.base}/admin.html`, cookie, LOADS)]);
    }
  } finally {
    await fx.close();
  }
}
console.log(`${LOADS} sequential loads each, PGlite, ms`);
console.log('page                          | KiB   | TTFB p50 | TTFB p95 | full p50 | full p95');
console.log('------------------------------|-------|----------|----------|----------|---------');
for (const [name, m] of rows) console.log(pageRow(name, m));
