import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GITHUB_APP_FILE, type StoredGitHubApp, loadConfig } from '../config.js';
import { appManifest, storeGitHubApp } from './app-registration.js';

const PEM = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const APP: StoredGitHubApp = {
  id: 77,
  slug: 'kodah-test',
  html_url: 'https://github.com/apps/kodah-test',
  pem: PEM,
  webhook_secret: 'stored-webhook-secret',
  client_id: 'Iv23.stored',
  client_secret: 'stored-client-secret',
  github_url: 'https://github.com',
};

describe('the GitHub App registered at /setup', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kodah-app-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('is stored with mode 0600, no temporary file left, and read by config at the next start', async () => {
    const dir = dataDir();
    const file = path.join(dir, GITHUB_APP_FILE);
    expect(loadConfig({ KODAH_DATA_DIR: dir }).github).toBeNull();
    await storeGitHubApp(file, APP);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual([GITHUB_APP_FILE]);
    const config = loadConfig({ KODAH_DATA_DIR: dir, KODAH_GITHUB_LABEL: 'fix-me' });
    expect(config.github).toMatchObject({ appId: 77, privateKey: PEM, webhookSecret: 'stored-webhook-secret', label: 'fix-me' });
    expect(config.signIn).toMatchObject({ clientId: 'Iv23.stored', clientSecret: 'stored-client-secret' });
    expect(config.githubAppFile).toBe(file);
  });

  it('gives way to the environment: the App variables replace it, GITHUB_CLIENT_ID its client', async () => {
    const dir = dataDir();
    await storeGitHubApp(path.join(dir, GITHUB_APP_FILE), APP);
    const fromEnv = loadConfig({ KODAH_DATA_DIR: dir, APP_ID: '5', PRIVATE_KEY: PEM, WEBHOOK_SECRET: 'env-secret' });
    expect(fromEnv.github).toMatchObject({ appId: 5, webhookSecret: 'env-secret' });
    expect(fromEnv.signIn).toBeNull();
    const client = loadConfig({ KODAH_DATA_DIR: dir, GITHUB_CLIENT_ID: 'Iv23.env', GITHUB_CLIENT_SECRET: 'env-client-secret' });
    expect(client.github?.appId).toBe(77);
    expect(client.signIn?.clientId).toBe('Iv23.env');
  });

  it('stops the start when damaged or registered on another GitHub, saying what to do', async () => {
    const dir = dataDir();
    const file = path.join(dir, GITHUB_APP_FILE);
    writeFileSync(file, '{"id": "not a number"}');
    expect(() => loadConfig({ KODAH_DATA_DIR: dir })).toThrow(/not a GitHub App as Kodah stores it.*register the App again/);
    await storeGitHubApp(file, APP);
    expect(() => loadConfig({ KODAH_DATA_DIR: dir, GITHUB_URL: 'https://ghe.example.com' })).toThrow(
      /GITHUB_URL: the App in .* was registered on https:\/\/github.com/,
    );
  });

  it("builds the manifest from app.yml with this server's addresses", async () => {
    const manifest = await appManifest('https://kodah.example.com');
    expect(manifest).toMatchObject({
      name: 'Kodah',
      hook_attributes: { active: true, url: 'https://kodah.example.com/api/github/webhooks' },
      redirect_url: 'https://kodah.example.com/setup/callback',
      callback_urls: ['https://kodah.example.com/login/callback'],
      setup_url: 'https://kodah.example.com/dashboard.html',
      request_oauth_on_install: false,
      public: false,
    });
    expect(manifest.default_events).toEqual(expect.arrayContaining(['issues', 'issue_comment', 'check_run', 'pull_request_review']));
  });
});
