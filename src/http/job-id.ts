import { KodahError } from '../lib/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a path's job id could name a job (ids are UUIDs). */
export function isJobId(id: string): boolean {
  return UUID.test(id);
}

/**
 * The one answer for a job the caller may not see: unknown, malformed and another account's ids
 * all get it, so an answer never tells whether a job exists.
 */
export function jobNotFound(): KodahError {
  return new KodahError('not_found', 'Job not found', { kind: 'input' });
}
