import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { connectDatabase } from '../src/db/connect.js';
import { queueSpecs } from '../src/queues.js';
import { loadExample, sendWebhook } from './helpers/github-webhooks.js';
import { spawnKodah } from './helpers/kodah-process.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { createTestDatabase, databaseKinds } from './helpers/test-database.js';

const SECRET = 'queues-test-secret';
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const GITHUB_ENV = {
  APP_ID: '424242',
  PRIVATE_KEY: privateKey,
  WEBHOOK_SECRET: SECRET,
  GITHUB_API_URL: 'http://127.0.0.1:9/api/v3',
  GITHUB_URL: 'http://127.0.0.1:9',
};
/** pg-boss keeps queues of its own (`__pgboss__…`); these tests are about Kodah's. */
const ours = (names: string[]) => names.filter((n) => !n.startsWith('__pgboss')).sort();
const declared = queueSpecs(loadConfig({}))
  .map((q) => q.name)
  .sort();

describe.each(databaseKinds)('queues on %s', (kind) => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  it('an API process without workers, on a fresh database, queues webhook deliveries for the workers', async () => {
    app = await startTestApp(kind, { workers: false, env: GITHUB_ENV });
    const delivery = randomUUID();
    const payload = loadExample('installation', (p) => p.action === 'created');
    const res = await sendWebhook(app.url, 'installation', payload, { secret: SECRET, delivery });
    expect(res.status).toBeLessThan(300);
    const queued = await app.kodah.boss.findJobs<{ delivery: string }>('kodah-github-event', { data: { delivery } });
    expect(queued).toHaveLength(1);
  });

  it('every process kind declares every queue at start', async () => {
    app = await startTestApp(kind, { workers: false });
    const names = ours((await app.kodah.boss.getQueues()).map((q) => q.name));
    expect(names).toEqual(declared);
  });

  it('kodah migrate creates every queue, and a later start updates their settings', async () => {
    const database = await createTestDatabase(kind);
    try {
      const migrated = spawnKodah(['migrate'], { ...database.env, LOG_LEVEL: 'silent' });
      expect(await migrated.exited, migrated.output()).toBe(0);
      const db = await connectDatabase(loadConfig(database.env));
      try {
        const { rows } = await db.query<{ name: string }>('SELECT name FROM pgboss.queue');
        expect(ours(rows.map((r) => r.name))).toEqual(declared);
      } finally {
        await db.close();
      }
      app = await startTestApp(kind, { workers: false, database, env: { KODAH_JOB_RETRIES: '5' } });
      const names = ours((await app.kodah.boss.getQueues()).map((q) => q.name));
      expect(names).toEqual(declared);
      expect((await app.kodah.boss.getQueue('kodah-fix'))?.retryLimit).toBe(5);
    } finally {
      await app?.stop();
      app = undefined;
      await database.drop();
    }
  });
});
