import { type Kodah, startKodah } from '../../src/app.js';
import { createApiKey } from '../../src/billing/api-keys.js';
import { createAccount } from '../../src/billing/accounts.js';
import { addCredits } from '../../src/billing/credits.js';
import { loadConfig } from '../../src/config.js';
import { connectDatabase } from '../../src/db/connect.js';
import { migrate } from '../../src/db/migrate.js';
import type { ResolveHost } from '../../src/jobs/callback-url.js';
import { type FixEngine, unconfiguredEngine } from '../../src/jobs/fix-engine.js';
import type { Clock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './test-database.js';

export interface TestApp {
  kodah: Kodah;
  url: string;
  /**
   * A new account with a key; `paidCents` of paid credit; `operatorTokens`: marked to read private
   * repositories with KODAH_GIT_TOKENS.
   */
  account(options?: { email?: string; paidCents?: number; maxRunningJobs?: number; operatorTokens?: boolean }): Promise<{
    id: string;
    key: string;
  }>;
  /** fetch against the API with the key and JSON body handled. */
  api(key: string | null, method: string, path: string, body?: unknown): Promise<ApiResponse>;
  stop(): Promise<void>;
}

let accounts = 0;

/**
 * The real server on a free port against a fresh database of the given kind. `engine`: the fix
 * engine; without one and without a model (OPENAI_BASE_URL), the engine of a worker that has no
 * model, so jobs are accepted and fail as a system error (what most suites of the API need);
 * `null`: no engine at all, as a server without a model runs (POST /jobs answers 503).
 */
export async function startTestApp(
  kind: DatabaseKind,
  options: {
    env?: Record<string, string>;
    workers?: boolean;
    engine?: FixEngine | null;
    clock?: Clock;
    database?: TestDatabase;
    /** The resolver of jobs' callbacks (scripted names instead of DNS). */
    resolve?: ResolveHost;
  } = {},
): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase(kind));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    KODAH_ALLOW_LOCAL_GIT: '1',
    KODAH_SUPERVISE_INTERVAL_S: '2',
    KODAH_SHUTDOWN_GRACE_S: '2',
    // Most suites script the model's single-shot answers; the agent's suites ask for it by name
    // (the `auto` probe would otherwise take one of their scripted answers).
    KODAH_FIX_MODE: 'single-shot',
    ...database.env,
    ...options.env,
  });
  const kodah = await startKodah({
    config,
    http: true,
    workers: options.workers ?? true,
    engine: options.engine === null ? undefined : (options.engine ?? (config.model ? undefined : unconfiguredEngine)),
    clock: options.clock,
    resolve: options.resolve,
    log: createLogger(config.logLevel),
  });
  const url = kodah.url!;
  return {
    kodah,
    url,
    async account(opts = {}) {
      const email = opts.email ?? `user${++accounts}-${Date.now()}@example.com`;
      const account = await createAccount(kodah.db, { email, usesOperatorTokens: opts.operatorTokens });
      if (opts.paidCents) await kodah.db.transaction((tx) => addCredits(tx, account.id, opts.paidCents!, 'purchase'));
      if (opts.maxRunningJobs) {
        await kodah.db.query('UPDATE accounts SET max_running_jobs = $2 WHERE id = $1', [account.id, opts.maxRunningJobs]);
      }
      return { id: account.id, key: await createApiKey(kodah.db, account.id) };
    },
    api: (key, method, path, body) => callApi(url, key, method, path, body),
    async stop() {
      await kodah.stop();
      if (!options.database) await database.drop();
    },
  };
}

export interface ApiResponse {
  status: number;
  body: any;
  headers: Headers;
}

/** One request to a Kodah API with the key and JSON handled; a string body is sent as is. */
export async function callApi(base: string, key: string | null, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (key) headers['x-api-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Polls until the job leaves the running status, or fails the test after `timeoutMs`. */
export async function waitForJob(app: Pick<TestApp, 'api'>, key: string, jobId: string, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await app.api(key, 'GET', `/jobs/${jobId}/status`);
    if (body.status !== 'running') return body;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still running: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An account and key written straight into the database of `env`, which must not be open elsewhere (PGlite). */
export async function seedAccount(env: Record<string, string>, paidCents = 0): Promise<{ id: string; key: string }> {
  const db = await connectDatabase(loadConfig(env));
  try {
    await migrate(db);
    const account = await createAccount(db, { email: `seed-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com` });
    if (paidCents) await db.transaction((tx) => addCredits(tx, account.id, paidCents, 'purchase'));
    return { id: account.id, key: await createApiKey(db, account.id) };
  } finally {
    await db.close();
  }
}
