import { createHmac, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/database.js';

/** An account's callback secret and when it was made (rotation makes a new one). */
export interface CallbackSecret {
  secret: string;
  createdAt: Date;
}

/** 256 random bits, with a prefix that tells it apart from an API key (`kdh_`) in a config file. */
const newSecret = () => `kcs_${randomBytes(32).toString('base64url')}`;

/** The account's secret, made on first use; concurrent first uses agree on one. */
export async function callbackSecret(db: Queryable, accountId: string): Promise<CallbackSecret> {
  await db.query('INSERT INTO account_callback_secrets (account_id, secret) VALUES ($1, $2) ON CONFLICT (account_id) DO NOTHING', [
    accountId,
    newSecret(),
  ]);
  const { rows } = await db.query<{ secret: string; created_at: Date }>(
    'SELECT secret, created_at FROM account_callback_secrets WHERE account_id = $1',
    [accountId],
  );
  return { secret: rows[0]!.secret, createdAt: new Date(rows[0]!.created_at) };
}

/** Replaces the account's secret: deliveries from now on are signed with the new one only. */
export async function rotateCallbackSecret(db: Queryable, accountId: string): Promise<CallbackSecret> {
  const { rows } = await db.query<{ secret: string; created_at: Date }>(
    `INSERT INTO account_callback_secrets (account_id, secret) VALUES ($1, $2)
     ON CONFLICT (account_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = now()
     RETURNING secret, created_at`,
    [accountId, newSecret()],
  );
  return { secret: rows[0]!.secret, createdAt: new Date(rows[0]!.created_at) };
}

/** The X-Kodah-Signature-256 value of a body: `sha256=` and the hex HMAC-SHA256, as GitHub signs webhooks. */
export function signCallback(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
