/**
 * Time to first byte (response headers) and to the last byte of the signed-in dashboard and of a
 * job page whose diff has 2,000 changed lines, one request after another, on PGlite. The dashboard
 * lists 50 jobs, 10 of them with that diff. The goal is a p95 of at most 100 ms.
 *
 *   npm run bench:pages -- [--loads 100]
 */
import { parseArgs } from 'node:util';
import { measurePageLoads, pageRow } from './page-loads.js';
import { hostileResult, signInContext, startDashboardFixture } from '../test/helpers/dashboard-fixture.js';

const { values } = parseArgs({ options: { loads: { type: 'string', default: '100' } } });
const LOADS = Number(values.loads);

const fx = await startDashboardFixture('pglite');
try {
  const user = fx.newUser('bench-pages');
  const { context } = await signInContext(fx, user.login);
  const cookie = (await context.cookies(fx.base)).map((c) => `${c.name}=${c.value}`).join('; ');
  const accountId = await fx.accountOf(user.login);
  await fx.grant(accountId, 5000);
  const big = hostileResult(1000);
  let bigJob = '';
  for (let i = 0; i < 50; i++) {
    const id = await fx.completedJob(accountId, i % 5 === 0 ? big : hostileResult(3));
    if (i % 5 === 0) bigJob = id;
  }
  const rows = [
    ['dashboard (50 jobs)', `${fx.base}/dashboard.html`],
    [`job page (${big.diff.split('\n').length - 5} diff lines)`, `${fx.base}/jobs/${bigJob}.html`],
  ] as const;
  console.log(`${LOADS} sequential loads each, PGlite, ms`);
  console.log('page                          | KiB   | TTFB p50 | TTFB p95 | full p50 | full p95');
  console.log('------------------------------|-------|----------|----------|----------|---------');
  for (const [name, url] of rows) {
    const m = await measurePageLoads(url, cookie, LOADS);
    console.log(pageRow(name, m));
  }
} finally {
  await fx.close();
}
