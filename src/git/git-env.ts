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

type ConfigEntries = ReadonlyArray<readonly [string, string]>;

/**
 * Every program git takes from config that has a fixed name, turned off. These go in as
 * GIT_CONFIG_* (command scope), which git reads after the repository's config (and its includes
 * and worktree config), so they win whatever a mirror's or work tree's config says. Filter, diff
 * and merge drivers have names the config chooses: driverOverrides() covers those.
 */
const NO_CONFIG_PROGRAMS: ConfigEntries = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  // "cat" is git's own word for no pager; GIT_PAGER (below) also beats pager.<command>.
  ['core.pager', 'cat'],
  // ":" is git's own word for "no editor": it runs nothing.
  ['core.editor', ':'],
  ['sequence.editor', ':'],
  // An empty helper empties the list, URL-scoped helpers (credential.<url>.helper) included.
  ['credential.helper', ''],
  ['core.askPass', ''],
  ['core.sshCommand', 'false'],
  // Run against alternates (objects/info/alternates) by fetch; `true` lists nothing.
  ['core.alternateRefsCommand', 'true'],
  // No empty value means "none": git fails to run "" instead, so a diff without --no-ext-diff fails closed.
  ['diff.external', ''],
  ['gpg.program', 'false'],
  ['gpg.x509.program', 'false'],
  ['gpg.ssh.program', 'false'],
  ['gpg.ssh.defaultKeyCommand', 'false'],
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['push.gpgSign', 'false'],
  ['log.showSignature', 'false'],
  ['submodule.recurse', 'false'],
  // No transport at all unless a caller allows one: this also stops the lazy fetch of a partial
  // clone (remote.<name>.url = ext::…), and ssh, git:// and file:// everywhere.
  ['protocol.allow', 'never'],
];

/** Both environments: nothing inherited from ours, so no secret of the server reaches git. */
const BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/nonexistent',
  LANG: 'C',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  // Beats core.pager and pager.<command> (which a repository may set to any command).
  GIT_PAGER: 'cat',
  // core.gitProxy is first-match-wins, so command scope cannot override it; a set (even empty)
  // GIT_PROXY_COMMAND makes git ignore the config and use no proxy.
  GIT_PROXY_COMMAND: '',
};

function withConfig(env: Record<string, string>, config: ConfigEntries): Record<string, string> {
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/**
 * A complete environment for git on a remote: no system or global config, no prompts, no
 * config-driven programs (NO_CONFIG_PROGRAMS), no LFS downloads, https only, and per-command
 * settings passed as GIT_CONFIG_* variables rather than on the command line.
 */
export function hardenedGitEnv(options: GitEnvOptions = {}): Record<string, string> {
  const config: Array<readonly [string, string]> = [
    ...NO_CONFIG_PROGRAMS,
    ['http.followRedirects', 'false'],
    ['protocol.https.allow', 'always'],
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
  return withConfig(
    {
      ...BASE_ENV,
      GIT_LFS_SKIP_SMUDGE: '1',
      GIT_PROTOCOL_FROM_USER: '0',
      GIT_ALLOW_PROTOCOL: options.allowHttp ? 'https:http' : 'https',
    },
    config,
  );
}

/**
 * git on repositories already on disk (mirrors, work trees): as hardenedGitEnv without any
 * transport, plus `overrides` (see driverOverrides). Work trees may belong to the sandbox's uid
 * while Kodah runs as root: safe.directory=* (honoured from command scope, which is protected
 * config) keeps git from refusing them as of dubious ownership; the repository's config can no
 * longer start a program, which is what that check guards against.
 */
export function localGitEnv(overrides: ConfigEntries = []): Record<string, string> {
  return withConfig({ ...BASE_ENV, GIT_NO_LAZY_FETCH: '1' }, [...NO_CONFIG_PROGRAMS, ['safe.directory', '*'], ...overrides]);
}

/** localGitEnv() with no driver overrides: for commands that never run a driver (rev-parse, ls-tree, cat-file without --filters/--textconv). */
export const LOCAL_GIT_ENV: Readonly<Record<string, string>> = Object.freeze(localGitEnv());

/**
 * The config keys (as `git config --get-regexp` matches them: section and variable lowercased)
 * that name the program of a filter, diff or merge driver. .gitattributes picks a driver by name
 * and the config defines it, so these cannot be turned off by a fixed key.
 */
export const DRIVER_PROGRAM_KEYS = '^(filter\\..+\\.(clean|smudge|process)|diff\\..+\\.(command|textconv)|merge\\..+\\.driver)$';
const driverProgramKey = new RegExp(DRIVER_PROGRAM_KEYS);

/**
 * Command-scope settings that empty every driver program listed in `listing` (the output of
 * `git config -z --get-regexp DRIVER_PROGRAM_KEYS`: "key\nvalue\0" per entry). An empty clean,
 * smudge or process command means no filter (content goes through as it is), and required=false
 * keeps git from failing for want of one; an empty textconv, diff command or merge driver makes
 * git fail to run "" instead, so a diff that would use a textconv fails (pass --no-textconv).
 */
export function driverOverrides(listing: string): Array<[string, string]> {
  const overrides = new Map<string, string>();
  for (const entry of listing.split('\0')) {
    const newline = entry.indexOf('\n');
    const key = newline < 0 ? entry : entry.slice(0, newline);
    if (!driverProgramKey.test(key)) continue;
    overrides.set(key, '');
    if (key.startsWith('filter.')) overrides.set(`${key.slice(0, key.lastIndexOf('.'))}.required`, 'false');
  }
  return [...overrides];
}
