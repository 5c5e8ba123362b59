import { generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, type KodahProcess, spawnKodah, waitForHealthy } from './helpers/kodah-process.js';
import { callApi } from './helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

/** What an operator reads when the server starts, and what it then answers, from a real process. */
describe('the start-up log', { timeout: 120_000 }, () => {
  let database: TestDatabase | undefined;
  let proc: KodahProcess | undefined;
  afterAll(async () => {
    proc?.child.kill('SIGKILL');
    await proc?.exited;
    await database?.drop();
  });

  it('names the GitHub App and its id when it is enabled, and says no model means no jobs', async () => {
    database = await createTestDatabase('pglite');
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const port = await freePort();
    proc = spawnKodah(['start'], {
      ...database.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      APP_ID: '424242',
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: 'webhook-secret',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitForHealthy(base, proc, 60_000);
    const lines = proc
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; appId?: number });
    expect(lines.find((l) => /GitHub App/.test(l.msg))).toMatchObject({
      msg: 'GitHub App 424242 enabled: webhooks at /api/github/webhooks',
      appId: 424242,
    });
    expect(lines.some((l) => /no model configured .*POST \/jobs answers 503/.test(l.msg))).toBe(true);

    // The webhook endpoint answers its refusals in the API's one error shape.
    const unsigned = await callApi(base, null, 'POST', '/api/github/webhooks', { zen: 'hi' });
    expect(unsigned.status).toBe(400);
    expect(unsigned.body).toEqual({ detail: 'Required headers missing: x-hub-signature-256, x-github-event, x-github-delivery' });
  });
});
