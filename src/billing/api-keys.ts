import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from '../db/database.js';

const KEY = /^kdh_[A-Za-z0-9_-]{32,128}$/;

/** A new key: "kdh_" and 43 URL-safe characters carrying 256 random bits. */
function generateApiKey(): string {
  return `kdh_${randomBytes(32).toString('base64url')}`;
}

function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Stores a new key for the account and returns it; the plain key exists only in the return value. */
export async function createApiKey(db: Queryable, accountId: string): Promise<string> {
  const key = generateApiKey();
  await db.query('INSERT INTO api_keys (id, account_id, key_hash, key_prefix) VALUES ($1, $2, $3, $4)', [
    randomUUID(),
    accountId,
    hashApiKey(key),
    key.slice(0, 8),
  ]);
  return key;
}

/** Revokes every key of the account and issues one new key, in one transaction the caller holds. */
export async function rotateApiKey(tx: Queryable, accountId: string): Promise<string> {
  await tx.query('UPDATE api_keys SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL', [accountId]);
  return createApiKey(tx, accountId);
}

/** The account a key belongs to, or null for a malformed, unknown or revoked key. */
export async function accountIdForKey(db: Queryable, key: string): Promise<string | null> {
  if (!KEY.test(key)) return null;
  const { rows } = await db.query<{ account_id: string }>('SELECT account_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [
    hashApiKey(key),
  ]);
  return rows[0]?.account_id ?? null;
}

/** What an operator may see of a key: enough to tell keys apart, never the key or its hash. */
export interface ApiKeySummary {
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Every key of the account, revoked ones included, oldest first. */
export async function listApiKeys(db: Queryable, accountId: string): Promise<ApiKeySummary[]> {
  const { rows } = await db.query<{ key_prefix: string; created_at: Date; revoked_at: Date | null }>(
    'SELECT key_prefix, created_at, revoked_at FROM api_keys WHERE account_id = $1 ORDER BY created_at',
    [accountId],
  );
  return rows.map((r) => ({
    prefix: r.key_prefix,
    createdAt: new Date(r.created_at),
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
  }));
}
