import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('config', () => {
  it('has defaults that work on a fresh machine', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, databaseUrl: undefined, billing: { fixPriceCents: 50, freeFixesPerMonth: 10 } });
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

  it('never echoes the value of a secret variable', () => {
    for (const env of [{ KODAH_GIT_TOKENS: 'ghp_s3cret' }, { DATABASE_URL: 'postgress://u:ghp_s3cret@db/kodah' }]) {
      expect(() => loadConfig(env)).toThrow(Object.keys(env)[0]);
      try {
        loadConfig(env);
      } catch (err) {
        expect(String(err)).not.toContain('s3cret');
      }
    }
  });
});
