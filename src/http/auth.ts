import type { FastifyRequest } from 'fastify';
import { accountIdForKey } from '../billing/api-keys.js';
import type { Queryable } from '../db/database.js';
import { KodahError } from '../lib/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    accountId: string;
  }
}

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header) return header.trim();
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return undefined;
}

/** A hook that admits a request with a live API key and tags it with the account. */
export function requireApiKey(db: Queryable) {
  return async (request: FastifyRequest): Promise<void> => {
    const key = presentedKey(request);
    if (!key) throw new KodahError('unauthorized', 'Missing API key: send it in the X-API-Key header', { kind: 'input' });
    const accountId = await accountIdForKey(db, key);
    if (!accountId) throw new KodahError('unauthorized', 'Invalid API key', { kind: 'input' });
    request.accountId = accountId;
    request.log = request.log.child({ accountId });
  };
}
