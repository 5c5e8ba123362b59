import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { KodahError } from '../lib/errors.js';

export interface RepoUrlPolicy {
  allowedHosts: readonly string[];
  /** Tests and local use: plain http and loopback/private addresses. */
  allowLocal: boolean;
}

/** A repository URL that passed the policy, and the address git must connect to (DNS pinned). */
export interface CheckedRepoUrl {
  url: string;
  host: string;
  port: number;
  address: string;
}

// Every range a request from our servers must never reach unless local git is allowed.
const internal = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  internal.addSubnet(net, bits, 'ipv4');
// IPv6 forms that carry an IPv4 address (IPv4-compatible, NAT64, 6to4) are refused whole.
for (const [net, bits] of [
  ['::', 96],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  internal.addSubnet(net, bits, 'ipv6');
}

export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return internal.check(mapped[1], 'ipv4');
  return internal.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

const SEGMENT = /^[A-Za-z0-9._~-]+$/;

function invalid(message: string): KodahError {
  return new KodahError('invalid_input', `repo_url: ${message}`, { kind: 'input' });
}

/**
 * Parses and normalises a repository URL without touching the network: https (http only for
 * local git), no credentials, no query, a plain path of at least owner/name.
 */
export function parseRepoUrl(raw: string, policy: RepoUrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid('must be a full URL such as https://github.com/owner/repo');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowLocal)) {
    throw invalid('must use https');
  }
  if (url.username || url.password) throw invalid('must not contain credentials');
  if (url.search || url.hash) throw invalid('must not have a query or a fragment');
  const segments = url.pathname.replace(/\/+$/, '').split('/').slice(1);
  if (segments.length < 2 || segments.length > 8 || !segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..')) {
    throw invalid('must name a repository, like https://github.com/owner/repo');
  }
  url.pathname = `/${segments.join('/')}`;
  return url;
}

/**
 * Whether the policy lets Kodah ask `host` at all, decided from the URL alone (no DNS): a host on
 * the allow-list, or with local git a loopback/private IP literal or `localhost` (a named local
 * host, such as `git.internal`, goes on the allow-list). So a host that is not allowed is refused
 * the same way whether or not its name resolves, and nothing about it is looked up.
 */
export function hostAllowed(host: string, port: number, policy: RepoUrlPolicy): boolean {
  if (policy.allowedHosts.includes(host) || policy.allowedHosts.includes(`${host}:${port}`)) return true;
  if (!policy.allowLocal) return false;
  if (isIP(host)) return isInternalAddress(host);
  return host === 'localhost' || host.endsWith('.localhost');
}

/** Resolves a host name to every address; `node:dns` by default, a test's own resolver otherwise. */
export type ResolveHost = (host: string) => Promise<string[]>;

const systemResolve: ResolveHost = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Checks the URL and the host against the allow-list first (no network), then resolves the host
 * once, refusing internal addresses unless local git is allowed. Git is then pinned to the address
 * checked here, so a DNS answer that changes between the check and the clone (rebinding) cannot
 * redirect it. An allowed host whose name does not resolve is a host we cannot reach, not a
 * missing repository: `repository_unavailable`, retryable.
 */
export async function checkRepoUrl(raw: string, policy: RepoUrlPolicy, resolve: ResolveHost = systemResolve): Promise<CheckedRepoUrl> {
  const url = parseRepoUrl(raw, policy);
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  if (isIP(host) && isInternalAddress(host) && !policy.allowLocal) throw invalid(`host ${host} is an internal address`);
  if (!hostAllowed(host, port, policy)) {
    const allowed = policy.allowedHosts.join(', ') || 'none';
    throw invalid(`host ${host} is not allowed (allowed: ${allowed}${policy.allowLocal ? ', and local addresses' : ''})`);
  }
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await resolve(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw unreachable(host, `its name could not be resolved (${code})`, err);
  }
  if (!addresses.length) throw unreachable(host, 'its name resolved to no address');
  const local = addresses.some(isInternalAddress);
  if (local && !policy.allowLocal) throw invalid(`host ${host} resolves to an internal address`);
  if (url.protocol === 'http:' && !local) throw invalid('must use https');
  return { url: url.toString().replace(/\/$/, ''), host, port, address: addresses[0]! };
}

/**
 * A repository host Kodah could not reach: our problem or the host's, never the caller's, and
 * worth trying again later. The message names the host, so a person can tell it from a missing
 * repository.
 */
export function unreachable(host: string, why: string, cause?: unknown): KodahError {
  return new KodahError('repository_unavailable', `Could not reach the repository host ${host}: ${why}. Try again later.`, {
    cause,
    retryable: true,
  });
}
