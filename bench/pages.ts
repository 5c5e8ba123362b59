/**
 * Time to first byte (response headers) and to the last byte of the signed-in dashboard and of a
 * job page whose diff has 2,000 changed lines, one request after another, on PGlite. The dashboard
 * lists 50 jobs, 10 of them with that diff. The goal is a p95 of at most 100 ms.
 *
 *   npm run bench:pages -- [--loads 100]
 */
import { parseArgs } from 'node:util';
import { hostileResult, signInContext, startDashboardFixture } from '../test/helpers/dashboard-fixture.js';

const { values } = parseArgs({ options: { loads: { type: 'string', default: '100' } } });
const LOADS = Number(values.loads);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(url: string, cookie: string): Promise<{ ttfb: number[]; total: number[]; bytes: number }> {
  const ttfb: number[] = [];
  const total: number[] = [];
  let bytes = 0;
  for (let i = 0; i < LOADS + 5; i++) {
    const start = performance.now();
    const res = await fetch(url, { headers: { cookie } });
    const first = performance.now();
    const text = await res.text();
    const end = performance.now();
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    // The first five warm the server up (JIT, caches) and are not counted.
    if (i < 5) continue;
    ttfb.push(first - start);
    total.push(end - start);
    bytes = text.length;
  }
  return { ttfb: ttfb.sort((a, b) => a - b), total: total.sort((a, b) => a - b), bytes };
}

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
    const m = await measure(url, cookie);
    const f = (n: number) => n.toFixed(1).padStart(8);
    console.log(
      `${name.padEnd(30)}| ${(m.bytes / 1024).toFixed(0).padStart(5)} | ${f(percentile(m.ttfb, 50))} | ${f(percentile(m.ttfb, 95))} | ` +
        `${f(percentile(m.total, 50))} | ${f(percentile(m.total, 95))}`,
    );
  }
} finally {
  await fx.close();
}
