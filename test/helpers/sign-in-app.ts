import { FAKE_OAUTH_CLIENT_ID, FAKE_OAUTH_CLIENT_SECRET, type FakeGitHub, startFakeGitHub } from './fake-github.js';
import { type GitHttpServer, startGitHttpServer } from './git-http-server.js';
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
}

export async function startSignInApp(
  kind: DatabaseKind,
  env: Record<string, string> = {},
  options: { workers?: boolean } = {},
): Promise<SignInApp> {
  const git = await startGitHttpServer();
  const github = await startFakeGitHub({ git });
  // The address must be known before the server starts: it is KODAH_PUBLIC_URL.
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await startTestApp(kind, {
    workers: options.workers ?? false,
    env: {
      PORT: String(port),
      KODAH_PUBLIC_URL: base,
      GITHUB_CLIENT_ID: FAKE_OAUTH_CLIENT_ID,
      GITHUB_CLIENT_SECRET: FAKE_OAUTH_CLIENT_SECRET,
      GITHUB_URL: github.webUrl,
      GITHUB_API_URL: github.url,
      // PGlite keeps the generated key in its data folder; PostgreSQL deployments set one.
      ...(kind === 'postgres' ? { KODAH_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') } : {}),
      ...env,
    },
  });
  return { git, github, app, base };
}
