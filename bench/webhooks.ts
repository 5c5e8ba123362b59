/**
 * How fast the GitHub webhook answers: signed `issues.labeled` deliveries sent over HTTP to the
 * running server (PGlite, or PostgreSQL with --database postgres and TEST_DATABASE_URL), each
 * verified, recorded and queued; the queued events are then handled by the workers against the
 * fake GitHub API while more deliveries arrive. Prints response-time percentiles.
 *
 *   npm run bench:webhooks -- [--deliveries 500] [--concurrency 8] [--database pglite|postgres]
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startFakeGitHub } from '../test/helpers/fake-github.js';
import { startGitHttpServer } from '../test/helpers/git-http-server.js';
import { adaptRepository, loadExample, sendWebhook } from '../test/helpers/github-webhooks.js';
import { startTestApp } from '../test/helpers/test-app.js';
import type { DatabaseKind } from '../test/helpers/test-database.js';

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
    database: { type: 'string', default: 'pglite' },
  },
});
const total = Number(values.deliveries);
const concurrency = Number(values.concurrency);
const secret = 'bench-secret';

const git = await startGitHttpServer();
const github = await startFakeGitHub({ git });
git.createRepo('octo-org/widgets', { 'README.md': 'bench\n' });
github.addRepo({ owner: 'octo-org', name: 'widgets', id: 9001, ownerId: 5001, ownerType: 'Organization' });
github.addInstallation({ id: 1001, account: { login: 'octo-org', id: 5001, type: 'Organization' } });
// A reader: every delivery is queued, and every queued event is handled and refused in the worker.
github.setPermission('octo-org', 'widgets', 'bob', 'read');
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const app = await startTestApp(values.database as DatabaseKind, {
  env: {
    APP_ID: '1',
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: secret,
    GITHUB_API_URL: github.url,
    GITHUB_URL: new URL(git.url('octo-org/widgets')).origin,
    KODAH_GITHUB_WRITE_INTERVAL_MS: '0',
  },
});

const payload = adaptRepository(
  loadExample('issues', (p) => p.action === 'labeled'),
  {
    owner: 'octo-org',
    name: 'widgets',
    id: 9001,
    private: false,
    ownerId: 5001,
    cloneUrl: git.url('octo-org/widgets'),
    defaultBranch: 'main',
    installationId: 1001,
  },
);
payload.label.name = 'kodah-fix';
payload.sender = { ...payload.sender, login: 'bob', type: 'User' };
const body = JSON.stringify(payload);

const times: number[] = [];
let next = 0;
const started = Date.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++;
      const { status, ms } = await sendWebhook(app.url, 'issues', payload, { secret, delivery: randomUUID(), rawBody: body });
      if (status !== 200) throw new Error(`webhook answered ${status}`);
      times.push(ms);
    }
  }),
);
const wall = (Date.now() - started) / 1000;
times.sort((a, b) => a - b);
const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!.toFixed(1);
const queued = await app.kodah.db.query<{ n: string }>('SELECT count(*) AS n FROM github_deliveries');
console.log(`database ${values.database}, ${total} signed deliveries (${Buffer.byteLength(body)} bytes each), ${concurrency} at a time`);
console.log(`response ms: p50 ${pct(50)}  p95 ${pct(95)}  p99 ${pct(99)}  max ${times.at(-1)!.toFixed(1)}`);
console.log(`throughput ${(total / wall).toFixed(0)} deliveries/s; recorded ${queued.rows[0]!.n}`);
await app.stop();
await github.close();
await git.close();
