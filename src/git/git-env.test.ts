import { describe, expect, it } from 'vitest';
import { driverOverrides, hardenedGitEnv, LOCAL_GIT_ENV, localGitEnv } from './git-env.js';

/** The GIT_CONFIG_* entries of an environment, in order. */
function configOf(env: Record<string, string>): Array<[string, string]> {
  return Array.from({ length: Number(env.GIT_CONFIG_COUNT) }, (_, i) => [env[`GIT_CONFIG_KEY_${i}`]!, env[`GIT_CONFIG_VALUE_${i}`]!]);
}

describe('git environments', () => {
  it.each([
    ['hardened', hardenedGitEnv({ token: 't' })],
    ['local', LOCAL_GIT_ENV],
  ])('%s: turns off every config-driven program with a fixed name', (_, env) => {
    const config = new Map(configOf(env));
    expect(config.get('core.hooksPath')).toBe('/dev/null');
    expect(config.get('core.fsmonitor')).toBe('false');
    expect(config.get('core.pager')).toBe('cat');
    expect(config.get('diff.external')).toBe('');
    expect(config.get('credential.helper')).toBe('');
    expect(config.get('core.askPass')).toBe('');
    expect(config.get('core.alternateRefsCommand')).toBe('true');
    expect(config.get('protocol.allow')).toBe('never');
    expect(env.GIT_PAGER).toBe('cat');
    expect(env.GIT_PROXY_COMMAND).toBe('');
    expect(env.GIT_CONFIG_NOSYSTEM).toBe('1');
    expect(env.GIT_CONFIG_GLOBAL).toBe('/dev/null');
  });

  it('hardened: https only, and the token in a header', () => {
    const config = configOf(hardenedGitEnv({ token: 't' }));
    expect(config).toContainEqual(['protocol.https.allow', 'always']);
    expect(config).toContainEqual(['http.extraHeader', `Authorization: Basic ${Buffer.from('x-access-token:t').toString('base64')}`]);
    expect(config.findIndex(([k]) => k === 'protocol.https.allow')).toBeGreaterThan(config.findIndex(([k]) => k === 'protocol.allow'));
  });

  it('local: accepts work trees of any owner, and appends overrides last', () => {
    expect(configOf(LOCAL_GIT_ENV)).toContainEqual(['safe.directory', '*']);
    expect(configOf(localGitEnv([['filter.x.clean', '']])).at(-1)).toEqual(['filter.x.clean', '']);
    expect(Object.keys(hardenedGitEnv())).not.toContain('GIT_NO_LAZY_FETCH');
  });
});

describe('driverOverrides', () => {
  it('empties every driver program of a `git config -z --get-regexp` listing', () => {
    const listing = [
      'filter.lfs.clean\ngit-lfs clean -- %f',
      'filter.lfs.process\ngit-lfs filter-process',
      'filter.a b.c.smudge\n/x',
      'diff.Z.textconv\n/x',
      'diff.z.command\n/x',
      'merge.m.driver\n/x %A %O %B',
      'filter.lfs.clean\nagain',
      'filter.bare.clean',
      '',
    ].join('\0');
    expect(driverOverrides(listing)).toEqual([
      ['filter.lfs.clean', ''],
      ['filter.lfs.required', 'false'],
      ['filter.lfs.process', ''],
      ['filter.a b.c.smudge', ''],
      ['filter.a b.c.required', 'false'],
      ['diff.Z.textconv', ''],
      ['diff.z.command', ''],
      ['merge.m.driver', ''],
      ['filter.bare.clean', ''],
      ['filter.bare.required', 'false'],
    ]);
  });

  it('ignores keys that name no program', () => {
    expect(driverOverrides('diff.external\n/x\0filter.x.required\ntrue\0diff.x.binary\ntrue\0merge.x.name\nx\0')).toEqual([]);
    expect(driverOverrides('')).toEqual([]);
  });
});
