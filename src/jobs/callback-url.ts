import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { isInternalAddress } from '../git/url-policy.js';
import { KodahError } from '../lib/errors.js';

/**
 * Where a job's callback may go. A callback makes Kodah's servers send a request to a URL the
 * caller chose: an SSRF door. So it gets the repositories' policy (https; never a loopback,
 * private, link-local, CGNAT or metadata address unless local git is allowed), checked when the
 * job is submitted and again, against the addresses actually connected to, when it is delivered.
 */
export interface CallbackPolicy {
  /** KODAH_ALLOW_LOCAL_GIT: plain http and internal addresses (tests, a laptop). */
  allowLocal: boolean;
}

/** Resolves a host name to every address it has (the system resolver, or a test's). */
export type ResolveHost = (host: string) => Promise<LookupAddress[]>;

export const systemResolve: ResolveHost = (host) => dnsLookup(host, { all: true, verbatim: true });

/** A delivery refused by the policy: recorded, never retried, never connected. */
export class CallbackRefused extends Error {
  override readonly name = 'CallbackRefused';
}

// Names that reach the machine itself or a cloud's metadata service whatever DNS says of them.
const INTERNAL_NAMES = /^(localhost|metadata|metadata\.google\.internal|instance-data)$|\.(localhost|internal)$/;

const MAX_URL = 2048;

function invalid(message: string): KodahError {
  return new KodahError('invalid_input', `callback_url: ${message}`, { kind: 'input' });
}

/** Why an address may not be called, or null when it may. */
function refusedAddress(address: string, policy: CallbackPolicy): string | null {
  return !policy.allowLocal && isInternalAddress(address) ? `${address} is an internal address` : null;
}

/** The host of a URL without the brackets of an IPv6 literal. */
const bareHost = (url: URL) => url.hostname.toLowerCase().replace(/^\[|\]$/g, '');

/**
 * Parses a callback URL without touching the network: https (http only for local use), no
 * credentials, no fragment, and neither an internal name nor an internal address literal.
 * WHATWG parsing has already turned `0x7f000001`, `2130706433` and `127.1` into 127.0.0.1.
 */
export function parseCallbackUrl(raw: string, policy: CallbackPolicy): URL {
  if (raw.length > MAX_URL) throw invalid(`at most ${MAX_URL} characters`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid('must be a full URL such as https://example.com/kodah-hook');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowLocal)) throw invalid('must use https');
  if (url.username || url.password) throw invalid('must not contain credentials');
  if (url.hash) throw invalid('must not have a fragment');
  const host = bareHost(url);
  if (!policy.allowLocal && INTERNAL_NAMES.test(host.replace(/\.$/, ''))) throw invalid(`host ${host} is internal`);
  if (isIP(host)) {
    const why = refusedAddress(host, policy);
    if (why) throw invalid(`host ${why}`);
  }
  return url;
}

/** Every address of the host, each checked; throws CallbackRefused for any internal one. */
async function checkedAddresses(host: string, policy: CallbackPolicy, resolve: ResolveHost): Promise<LookupAddress[]> {
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  if (addresses.length === 0) throw new CallbackRefused(`${host} has no address`);
  // One internal answer refuses the whole name: a client may try the addresses in any order.
  for (const { address } of addresses) {
    const why = refusedAddress(address, policy);
    if (why) throw new CallbackRefused(`${host} resolves to ${why}`);
  }
  return addresses;
}

/** Checks a callback URL when a job is submitted (422 when refused); resolves to it normalised. */
export async function checkCallbackUrl(raw: string, policy: CallbackPolicy, resolve: ResolveHost = systemResolve): Promise<string> {
  const url = parseCallbackUrl(raw, policy);
  try {
    await checkedAddresses(bareHost(url), policy, resolve);
  } catch (err) {
    if (err instanceof CallbackRefused) throw invalid(err.message);
    const code = (err as NodeJS.ErrnoException).code;
    throw invalid(`host ${bareHost(url)} could not be resolved (${code ?? String(err)})`);
  }
  return url.toString();
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that resolves once and hands the socket only addresses it checked,
 * so a DNS answer that changes between the check and the connection (rebinding) cannot reach an
 * internal address. Address literals never reach a lookup: parseCallbackUrl checks those.
 */
export function guardedLookup(policy: CallbackPolicy, resolve: ResolveHost = systemResolve) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    checkedAddresses(hostname, policy, resolve).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (wanted.length === 0) return callback(new CallbackRefused(`${hostname} has no IPv${options.family} address`), '');
        if (options.all) callback(null, wanted);
        else callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
