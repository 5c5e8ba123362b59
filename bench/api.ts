/**
 * POST /jobs throughput and latency under 50 concurrent clients, and worker pickup latency, on
 * PGlite and (when BENCH_DATABASE_URL or TEST_DATABASE_URL names a server) PostgreSQL.
 *
 *   npm run bench:api -- [--clients 50] [--seconds 10] [--rate 300] [--pickups 50]
 *
 * Three figures per database:
 * - closed loop: every client sends its next request as soon as the last is answered; accepted/s
 *   is the most the server takes, and latency there is mostly time spent waiting in line;
 * - open loop at --rate requests/s spread over the clients: the latency a client sees at that load;
 * - pickup: from acceptance (the job row's clock_timestamp()) to a worker claiming it, one job
 *   at a time, woken by LISTEN/NOTIFY.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { startGitHttpServer } from '../test/helpers/git-http-server.js';
import { startTestApp, type TestApp } from '../test/helpers/test-app.js';
import type { DatabaseKind } from '../test/helpers/test-database.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '300' },
    pickups: { type: 'string', default: '50' },
  },
});
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const PICKUPS = Number(values.pickups);
const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const kinds: DatabaseKind[] = serverUrl ? ['pglite', 'postgres'] : ['pglite'];
if (serverUrl) process.env.TEST_DATABASE_URL = serverUrl;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const f1 = (n: number) => n.toFixed(1);

const git = await startGitHttpServer();
git.createRepo('bench', { 'src/app.py': 'def f():\n    return 1\n' });
const body = { repo_url: git.url('bench'), task: 'fix', description: 'TypeError in f' };
const env = {
  LOG_LEVEL: 'silent',
  KODAH_MAX_QUEUED_JOBS: '1000000',
  KODAH_FREE_FIXES_PER_MONTH: '0',
  DATABASE_POOL_MAX: '20',
  // The production default, not the tests' fast supervision.
  KODAH_SUPERVISE_INTERVAL_S: '15',
};

async function load(app: TestApp, keys: string[], rate?: number) {
  const args = JSON.stringify({ url: app.url, keys, body, seconds: SECONDS, rate });
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'load-client.ts'), args],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const out = JSON.parse(stdout) as { wall: number; latencies: number[]; statuses: Record<string, number> };
  const sorted = out.latencies.sort((a, b) => a - b);
  const accepted = out.statuses['202'] ?? 0;
  const refused =
    Object.entries(out.statuses)
      .filter(([s]) => s !== '202')
      .map(([s, n]) => `${n}x${s}`)
      .join(' ') || '-';
  return { perSecond: accepted / out.wall, p50: percentile(sorted, 50), p99: percentile(sorted, 99), accepted, refused };
}

async function submissions(kind: DatabaseKind) {
  // API only: jobs stay queued, so the figures are the accept path alone.
  const app = await startTestApp(kind, { workers: false, env });
  try {
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () => app.account({ paidCents: 100_000_000, maxRunningJobs: 1_000_000 })),
    );
    const keys = clients.map((c) => c.key);
    for (const key of keys) await app.api(key, 'POST', '/jobs', body); // warm the repository cache and connections
    return { closed: await load(app, keys), open: await load(app, keys, RATE) };
  } finally {
    await app.stop();
  }
}

async function pickup(kind: DatabaseKind) {
  const app = await startTestApp(kind, { env });
  try {
    const { key } = await app.account({ paidCents: 100_000_000 });
    const gaps: number[] = [];
    for (let i = 0; i < PICKUPS; i++) {
      const res = await app.api(key, 'POST', '/jobs', body);
      for (;;) {
        const { rows } = await app.kodah.db.query<{ gap: number | null; state: string }>(
          'SELECT EXTRACT(EPOCH FROM started_at - created_at)::float8 * 1000 AS gap, state FROM jobs WHERE id = $1',
          [res.body.job_id],
        );
        if (rows[0]?.gap != null && rows[0].state !== 'queued' && rows[0].state !== 'running') {
          gaps.push(rows[0].gap);
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    gaps.sort((a, b) => a - b);
    return { p50: percentile(gaps, 50), p95: percentile(gaps, 95), max: gaps.at(-1)! };
  } finally {
    await app.stop();
  }
}

const header = ['database', 'mode', 'accepted/s', 'p50 ms', 'p99 ms', 'accepted', 'refused'];
const table: string[][] = [];
const pickups: string[][] = [];
for (const kind of kinds) {
  const { closed, open } = await submissions(kind);
  table.push([kind, 'closed loop', f1(closed.perSecond), f1(closed.p50), f1(closed.p99), String(closed.accepted), closed.refused]);
  table.push([kind, `open ${RATE}/s`, f1(open.perSecond), f1(open.p50), f1(open.p99), String(open.accepted), open.refused]);
  const p = await pickup(kind);
  pickups.push([kind, f1(p.p50), f1(p.p95), f1(p.max)]);
}
await git.close();

const print = (rows: string[][]) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
};
console.log(`\nPOST /jobs, ${CLIENTS} concurrent clients, ${SECONDS}s per mode (load from a separate process)`);
print([header, ...table]);
console.log(`\nworker pickup, ${PICKUPS} jobs one at a time`);
print([['database', 'p50 ms', 'p95 ms', 'max ms'], ...pickups]);
