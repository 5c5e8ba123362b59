import { hostname } from 'node:os';

/**
 * Names of what a sandbox leaves on disk while it runs (its scratch folder, a job's work tree):
 * `<host>~<pid>~<random>`, so that a worker starting later can tell what a dead process left
 * (same host, pid gone) from what a live one is still using.
 */
export function scratchName(random: string): string {
  return `${safeHost()}~${process.pid}~${random}`;
}

/** The owner encoded in a name made by `scratchName`, or null for any other name. */
export function scratchOwner(name: string): { host: string; pid: number } | null {
  const match = /^([^~]+)~(\d+)~[^~]+$/.exec(name);
  return match ? { host: match[1]!, pid: Number(match[2]) } : null;
}

export function safeHost(): string {
  return hostname().replace(/[^A-Za-z0-9.-]/g, '_') || 'host';
}
