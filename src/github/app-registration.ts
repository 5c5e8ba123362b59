import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { type Config, type StoredGitHubApp, storedGitHubApp } from '../config.js';
import { KodahError } from '../lib/errors.js';
import { WEBHOOK_PATH } from './webhook-route.js';

/** app.yml at the package's root (beside src/ and dist/). */
const MANIFEST_FILE = new URL('../../app.yml', import.meta.url);
const TIMEOUT_MS = 10_000;

/** The pages' addresses a manifest names (web/ serves them). */
export const SETUP_CALLBACK_PATH = '/setup/callback';
const LOGIN_CALLBACK_PATH = '/login/callback';
/** Where GitHub sends people once they installed the App: the dashboard, or sign-in first. */
const AFTER_INSTALL_PATH = '/dashboard.html';

/**
 * Kodah's manifest for GitHub's manifest flow: app.yml with this server's addresses filled in
 * (webhooks, the flow's way back, sign-in's callback, where installing ends).
 */
export async function appManifest(publicUrl: string): Promise<Record<string, unknown>> {
  const manifest = z.record(z.string(), z.unknown()).parse(parse(await readFile(MANIFEST_FILE, 'utf8')));
  const hook = z.record(z.string(), z.unknown()).catch({}).parse(manifest.hook_attributes);
  return {
    ...manifest,
    hook_attributes: { ...hook, url: `${publicUrl}${WEBHOOK_PATH}` },
    redirect_url: `${publicUrl}${SETUP_CALLBACK_PATH}`,
    callback_urls: [`${publicUrl}${LOGIN_CALLBACK_PATH}`],
    setup_url: `${publicUrl}${AFTER_INSTALL_PATH}`,
    // Signing in goes through /login, whose state GitHub's install-time authorization would not carry.
    request_oauth_on_install: false,
  };
}

/** The part of GitHub's answer to a conversion that Kodah keeps or shows. */
const conversion = z.object({
  id: z.number().int().positive(),
  slug: z.string().min(1),
  name: z.string(),
  html_url: z.string().regex(/^https?:\/\//),
  pem: z.string().regex(/-----BEGIN (RSA )?PRIVATE KEY-----/),
  webhook_secret: z.string().min(1),
  client_id: z.string().regex(/^[\w.-]+$/),
  client_secret: z.string().regex(/^\S+$/),
});
export type RegisteredApp = z.infer<typeof conversion>;

/**
 * Trades the manifest flow's code for the App GitHub created (`POST /app-manifests/{code}/conversions`,
 * no authentication: the code is the credential). A used or expired code is the operator's to
 * retry; an answer without what Kodah needs is refused whole.
 */
export async function convertManifestCode(apiUrl: string, code: string): Promise<RegisteredApp> {
  let res: Response;
  try {
    res = await fetch(`${apiUrl}/app-manifests/${encodeURIComponent(code)}/conversions`, {
      method: 'POST',
      headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': 'kodah' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (err) {
    throw new KodahError('internal', `GitHub did not answer (${(err as Error).message})`, { cause: err, retryable: true });
  }
  const text = await res.text();
  if (res.status === 404 || res.status === 422) {
    throw new KodahError(
      'invalid_input',
      'GitHub did not accept this registration: its code was already used or has expired. Nothing was stored; register the App again from the setup page.',
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = conversion.safeParse(body);
  if (res.status !== 201 || !parsed.success) {
    throw new KodahError('internal', `GitHub's app-manifests conversion answered ${res.status} with an unexpected body`, {
      retryable: true,
    });
  }
  return parsed.data;
}

/**
 * Keeps the App in the data folder, readable by the server's user only: written to a new file
 * with mode 0600, flushed, then renamed over the name config reads, so a crash leaves the old
 * state or the new one, never half a key.
 */
export async function storeGitHubApp(file: string, app: StoredGitHubApp): Promise<void> {
  const record = storedGitHubApp.parse(app);
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** Converts the code, stores the App and returns it with its settings, ready to enable. */
export async function registerGitHubApp(
  config: Pick<Config, 'githubOptions' | 'githubAppFile'>,
  code: string,
): Promise<{ app: RegisteredApp; stored: StoredGitHubApp }> {
  const app = await convertManifestCode(config.githubOptions.apiUrl, code);
  const stored: StoredGitHubApp = {
    id: app.id,
    slug: app.slug,
    html_url: app.html_url,
    pem: app.pem,
    webhook_secret: app.webhook_secret,
    client_id: app.client_id,
    client_secret: app.client_secret,
    github_url: config.githubOptions.webUrl,
  };
  try {
    await storeGitHubApp(config.githubAppFile, stored);
  } catch (err) {
    throw new KodahError(
      'internal',
      `GitHub created the App ${app.html_url} but Kodah could not store it in ${config.githubAppFile} (${(err as Error).message}): delete the App on GitHub and register again`,
      { cause: err },
    );
  }
  return { app, stored };
}
