import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('config', () => {
  it('has defaults that work on a fresh machine', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      billing: { fixPriceCents: 50, freeFixesPerMonth: 10 },
    });
    expect(config.git.allowedHosts).toEqual(['github.com']);
    expect(config.dataDir.endsWith('.kodah')).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads values and names the variable of a bad one', () => {
    expect(loadConfig({ KODAH_FIX_PRICE_USD: '1.25', KODAH_GIT_HOSTS: 'github.com, git.example.com' })).toMatchObject({
      billing: { fixPriceCents: 125 },
      git: { allowedHosts: ['github.com', 'git.example.com'] },
    });
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ KODAH_FIX_PRICE_USD: '0.001' })).toThrow(/KODAH_FIX_PRICE_USD: a positive amount/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: a postgres:\/\/ connection URL/);
    expect(() => loadConfig({ KODAH_ALLOW_LOCAL_GIT: 'maybe' })).toThrow(/KODAH_ALLOW_LOCAL_GIT/);
    expect(() => loadConfig({ KODAH_GIT_TOKENS: 'no-equals-sign' })).toThrow(/KODAH_GIT_TOKENS: expected host=token/);
  });

  it('configures a model only with a base URL, and prices it fully or not at all', () => {
    expect(loadConfig({ OPENAI_API_KEY: 'sk-x' }).model).toBeNull();
    expect(loadConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' }).model).toEqual({
      baseUrl: 'http://127.0.0.1:11434/v1',
      apiKey: '',
      name: 'gpt-4o-mini',
      timeoutMs: 120_000,
      maxRetries: 3,
      contextTokens: 128_000,
      pricing: null,
    });
    const priced = loadConfig({
      OPENAI_BASE_URL: 'https://api.openai.com/v1',
      KODAH_MODEL: 'gpt-4o',
      KODAH_MODEL_TIMEOUT_S: '30',
      KODAH_MODEL_MAX_RETRIES: '0',
      KODAH_MODEL_CONTEXT_TOKENS: '32768',
      KODAH_MODEL_PRICE_INPUT_PER_MTOK_USD: '2.5',
      KODAH_MODEL_PRICE_OUTPUT_PER_MTOK_USD: '10',
    });
    expect(priced.model).toMatchObject({
      name: 'gpt-4o',
      timeoutMs: 30_000,
      maxRetries: 0,
      contextTokens: 32_768,
      pricing: { inputPerMTokUsd: 2.5, outputPerMTokUsd: 10 },
    });
    expect(() => loadConfig({ KODAH_MODEL_PRICE_INPUT_PER_MTOK_USD: '2.5' })).toThrow(/KODAH_MODEL_PRICE_OUTPUT_PER_MTOK_USD: set both/);
    expect(() => loadConfig({ KODAH_MODEL_PRICE_INPUT_PER_MTOK_USD: 'cheap' })).toThrow(/KODAH_MODEL_PRICE_INPUT_PER_MTOK_USD: a price/);
    expect(() => loadConfig({ OPENAI_BASE_URL: 'localhost:8000' })).toThrow(/OPENAI_BASE_URL/);
  });

  it('reads the container sandbox settings, empty meaning the driver default', () => {
    expect(loadConfig({}).sandbox.container).toMatchObject({ user: null, selinuxRelabel: false });
    expect(loadConfig({ KODAH_SANDBOX_CONTAINER_USER: '' }).sandbox.container.user).toBeNull();
    expect(
      loadConfig({ KODAH_SANDBOX: 'container', KODAH_SANDBOX_CONTAINER_USER: '0:0', KODAH_SANDBOX_SELINUX_RELABEL: 'yes' }).sandbox,
    ).toMatchObject({ driver: 'container', container: { user: '0:0', selinuxRelabel: true } });
    expect(() => loadConfig({ KODAH_SANDBOX_CONTAINER_USER: 'kodah' })).toThrow(/KODAH_SANDBOX_CONTAINER_USER: uid:gid in numbers/);
    expect(() => loadConfig({ KODAH_SANDBOX_SELINUX_RELABEL: 'on' })).toThrow(/KODAH_SANDBOX_SELINUX_RELABEL/);
  });

  it('turns the GitHub App on with all of its settings, and names what is missing otherwise', () => {
    expect(loadConfig({}).github).toBeNull();
    const pem = '-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n';
    const github = loadConfig({ APP_ID: '42', PRIVATE_KEY: pem, WEBHOOK_SECRET: 's3cret', GITHUB_API_URL: 'http://127.0.0.1:9/' }).github!;
    expect(github).toMatchObject({ appId: 42, webhookSecret: 's3cret', apiUrl: 'http://127.0.0.1:9', label: 'kodah-fix', ciAttempts: 1 });
    // Escaped line breaks, as PRIVATE_KEY often arrives from a secret store, become real ones.
    expect(github.privateKey).toBe('-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');
    expect(() => loadConfig({ APP_ID: '42', WEBHOOK_SECRET: 's3cret' })).toThrow(
      /PRIVATE_KEY: the GitHub App needs PRIVATE_KEY or PRIVATE_KEY_PATH too/,
    );
    expect(() => loadConfig({ APP_ID: '42', PRIVATE_KEY: 'not a key', WEBHOOK_SECRET: 'x' })).toThrow(/PRIVATE_KEY: not a PEM private key/);
    expect(() => loadConfig({ APP_ID: '42', PRIVATE_KEY_PATH: '/nonexistent/key.pem', WEBHOOK_SECRET: 'x' })).toThrow(
      /cannot read \/nonexistent\/key.pem/,
    );
    const leaked = (() => {
      try {
        loadConfig({ APP_ID: '42', WEBHOOK_SECRET: 'do-not-echo' });
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(leaked).not.toContain('do-not-echo');
  });

  it('reads KODAH_ADMINS as lower-case GitHub logins and the user access cache with sign-in', () => {
    expect(loadConfig({}).admins).toEqual([]);
    expect(loadConfig({ KODAH_ADMINS: ' Octo-Cat, ops ,' }).admins).toEqual(['octo-cat', 'ops']);
    expect(() => loadConfig({ KODAH_ADMINS: 'ops, <script>' })).toThrow(/KODAH_ADMINS: GitHub logins separated by commas/);
    const signIn = { GITHUB_CLIENT_ID: 'Iv1.abc', GITHUB_CLIENT_SECRET: 'secret' };
    expect(loadConfig(signIn).userAccessTtlS).toBe(60);
    expect(loadConfig({ ...signIn, KODAH_USER_ACCESS_TTL_S: '0' }).userAccessTtlS).toBe(0);
    expect(() => loadConfig({ KODAH_USER_ACCESS_TTL_S: '-1' })).toThrow(/KODAH_USER_ACCESS_TTL_S/);
  });

  it('never echoes the value of a secret variable', () => {
    for (const env of [
      { KODAH_GIT_TOKENS: 'ghp_s3cret' },
      { DATABASE_URL: 'postgress://u:ghp_s3cret@db/kodah' },
      // A key read with $(cat key.txt) and a stray newline: refused, and still not quoted.
      { OPENAI_API_KEY: 'sk-proj-s3cret\n' },
    ]) {
      expect(() => loadConfig(env)).toThrow(Object.keys(env)[0]);
      try {
        loadConfig(env);
      } catch (err) {
        expect(String(err)).not.toContain('s3cret');
      }
    }
  });
});
