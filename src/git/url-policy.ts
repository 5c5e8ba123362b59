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
 * Checks the host against the allow-list and resolves it once, refusing internal addresses unless
 * local git is allowed. Git is then pinned to the address checked here, so a DNS answer that
 * changes between the check and the clone (rebinding) cannot redirect it.
 */
export async function checkRepoUrl(raw: string, policy: RepoUrlPolicy): Promise<CheckedRepoUrl> {
  const url = parseRepoUrl(raw, policy);
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const listed = policy.allowedHosts.includes(host) || policy.allowedHosts.includes(`${host}:${port}`);
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch (err) {
    // Only a name that does not exist means no repository; a failing resolver is our problem.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') throw new KodahError('not_found', 'Repository not found', { kind: 'input' });
    throw new KodahError('repository_unavailable', `Could not resolve ${host}: ${code ?? err}`, { cause: err, retryable: true });
  }
  const local = addresses.some(isInternalAddress);
  if (local && !policy.allowLocal) throw invalid(`host ${host} resolves to an internal address`);
  if (!listed && !(local && policy.allowLocal)) {
    throw invalid(`host ${host} is not allowed (allowed: ${policy.allowedHosts.join(', ')})`);
  }
  if (url.protocol === 'http:' && !local) throw invalid('must use https');
  return { url: url.toString().replace(/\/$/, ''), host, port, address: addresses[0]! };
}
