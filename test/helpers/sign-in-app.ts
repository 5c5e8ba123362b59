import { generateKeyPairSync } from 'node:crypto';
import type { Clock } from '../../src/lib/clock.js';
import { FAKE_OAUTH_CLIENT_ID, FAKE_OAUTH_CLIENT_SECRET, type FakeGitHub, startFakeGitHub } from './fake-github.js';
import { type GitHttpServer, startGitHttpServer } from './git-http-server.js';
import { type GitHubHost, startGitHubHost } from './github-host.js';
import { freePort } from './kodah-process.js';
import { startTestApp, type TestApp } from './test-app.js';
import type { DatabaseKind } from './test-database.js';

/** Kodah with GitHub sign-in turned on against the fake GitHub, at a known address. */
export interface SignInApp {
  git: GitHttpServer;
  github: FakeGitHub;
  app: TestApp;
  /** KODAH_PUBLIC_URL: where GitHub sends the browser back. */
  base: string;
  /** With `githubApp`: GITHUB_URL, one address for the fake's pages and the git server; else null. */
  host: GitHubHost | null;
  /** Stops the app and every fake. */
  close(): Promise<void>;
}

export interface SignInAppOptions {
  /** The GitHub App too (APP_ID, a fresh key, WEBHOOK_SECRET), so Kodah mints installation tokens from the fake. */
  githubApp?: boolean;
  /** Run workers (default off: the pages need none). */
  workers?: boolean;
  clock?: Clock;
}

export async function startSignInApp(
  kind: DatabaseKind,
  env: Record<string, string> = {},
  options: SignInAppOptions = {},
): Promise<SignInApp> {
  const git = await startGitHttpServer();
  const github = await startFakeGitHub({ git });
  const host = options.githubApp ? await startGitHubHost(github, git) : null;
  // The address must be known before the server starts: it is KODAH_PUBLIC_URL.
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const appEnv: Record<string, string> = host
    ? {
        APP_ID: '424242',
        PRIVATE_KEY: generateKeyPairSync('rsa', {
          modulusLength: 2048,
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        }).privateKey,
        WEBHOOK_SECRET: 'sign-in-app-webhook-secret',
        KODAH_GITHUB_WRITE_INTERVAL_MS: '0',
      }
    : {};
  const app = await startTestApp(kind, {
    workers: options.workers ?? false,
    clock: options.clock,
    env: {
      PORT: String(port),
      KODAH_PUBLIC_URL: base,
      GITHUB_CLIENT_ID: FAKE_OAUTH_CLIENT_ID,
      GITHUB_CLIENT_SECRET: FAKE_OAUTH_CLIENT_SECRET,
      GITHUB_URL: host?.url ?? github.webUrl,
      GITHUB_API_URL: github.url,
      // PGlite keeps the generated key in its data folder; PostgreSQL deployments set one.
      ...(kind === 'postgres' ? { KODAH_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') } : {}),
      ...appEnv,
      ...env,
    },
  });
  return {
    git,
    github,
    app,
    base,
    host,
    async close() {
      await app.stop();
      await host?.close();
      await github.close();
      await git.close();
    },
  };
}
