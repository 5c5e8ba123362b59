import type { CheckedRepoUrl } from './url-policy.js';

export interface GitEnvOptions {
  /** Pin the connection to the address the URL policy checked. */
  pin?: CheckedRepoUrl;
  /** A token for a private repository: sent as an HTTP header, never written to disk or argv. */
  token?: string | null;
  allowHttp?: boolean;
  /** Abort transfers slower than 1 KiB/s for this many seconds. */
  lowSpeedTimeS?: number;
}

/**
 * A complete environment for git (nothing inherited from ours, so no secret of the server reaches
 * it): no system or global config, no prompts, no hooks, no LFS downloads, https only, and
 * per-command settings passed as GIT_CONFIG_* variables rather than on the command line.
 */
export function hardenedGitEnv(options: GitEnvOptions = {}): Record<string, string> {
  const config: Array<[string, string]> = [
    ['core.hooksPath', '/dev/null'],
    ['credential.helper', ''],
    ['http.followRedirects', 'false'],
    ['protocol.allow', 'never'],
    ['protocol.https.allow', 'always'],
    ['submodule.recurse', 'false'],
    ['http.lowSpeedLimit', '1024'],
    ['http.lowSpeedTime', String(options.lowSpeedTimeS ?? 30)],
  ];
  if (options.allowHttp) config.push(['protocol.http.allow', 'always']);
  if (options.pin) {
    const { host, port, address } = options.pin;
    config.push(['http.curloptResolve', `${host}:${port}:${address.includes(':') ? `[${address}]` : address}`]);
  }
  if (options.token) {
    const basic = Buffer.from(`x-access-token:${options.token}`).toString('base64');
    config.push(['http.extraHeader', `Authorization: Basic ${basic}`]);
  }
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/nonexistent',
    LANG: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_LFS_SKIP_SMUDGE: '1',
    GIT_PROTOCOL_FROM_USER: '0',
    GIT_ALLOW_PROTOCOL: options.allowHttp ? 'https:http' : 'https',
    GIT_CONFIG_COUNT: String(config.length),
  };
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** git on repositories already on disk (mirrors, work trees): no system or global config, nothing from our environment. */
export const LOCAL_GIT_ENV = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/nonexistent',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};
