import type { Queryable } from '../db/database.js';
import { type SignInConfig, type UserTokens, refreshTokens } from './github-oauth.js';
import { decrypt, encrypt } from './secrets.js';

/** What userToken needs besides the database: the key the tokens are sealed with, and GitHub's OAuth. */
export interface UserTokenDeps {
  key: Buffer;
  signIn: SignInConfig;
}

/** Refresh this long before the access token expires, so that a caller never holds a dying one. */
const REFRESH_MARGIN_MS = 5 * 60_000;

interface TokenRow {
  access_token: string;
  access_expires_at: Date | null;
  refresh_token: string | null;
  refresh_expires_at: Date | null;
}

const context = (accountId: string, what: 'access' | 'refresh') => `github-user-token:${accountId}:${what}`;

/** Stores (or replaces) the account's GitHub user tokens, encrypted. */
export async function storeUserTokens(db: Queryable, key: Buffer, accountId: string, tokens: UserTokens): Promise<void> {
  await db.query(
    `INSERT INTO github_user_tokens (account_id, access_token, access_expires_at, refresh_token, refresh_expires_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (account_id) DO UPDATE SET access_token = $2, access_expires_at = $3, refresh_token = $4,
       refresh_expires_at = $5, updated_at = now()`,
    [
      accountId,
      encrypt(key, tokens.accessToken, context(accountId, 'access')),
      tokens.accessExpiresAt,
      tokens.refreshToken === null ? null : encrypt(key, tokens.refreshToken, context(accountId, 'refresh')),
      tokens.refreshExpiresAt,
    ],
  );
}

/** Forgets the account's GitHub tokens: on sign-out, and when GitHub answers 401 to one (revoked). */
export async function forgetUserTokens(db: Queryable, accountId: string): Promise<void> {
  await db.query('DELETE FROM github_user_tokens WHERE account_id = $1', [accountId]);
}

/**
 * A GitHub token of the account's user that is valid for a while yet, decrypted; null when there is
 * none (never signed in, signed out, revoked, or sealed with another key). An expiring token is
 * refreshed first. Refreshes race without locks: GitHub's refresh tokens work once, so the loser
 * of a race takes the winner's stored token instead of dropping it.
 */
export async function userToken(db: Queryable, accountId: string, deps: UserTokenDeps): Promise<string | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const { rows } = await db.query<TokenRow>(
      'SELECT access_token, access_expires_at, refresh_token, refresh_expires_at FROM github_user_tokens WHERE account_id = $1',
      [accountId],
    );
    const row = rows[0];
    if (!row) return null;
    const access = decrypt(deps.key, row.access_token, context(accountId, 'access'));
    if (access === null) return null;
    const now = Date.now();
    if (row.access_expires_at === null || new Date(row.access_expires_at).getTime() - REFRESH_MARGIN_MS > now) return access;
    const refresh = row.refresh_token && decrypt(deps.key, row.refresh_token, context(accountId, 'refresh'));
    if (!refresh || (row.refresh_expires_at && new Date(row.refresh_expires_at).getTime() <= now)) {
      await dropIfUnchanged(db, accountId, row.access_token);
      return null;
    }
    const fresh = await refreshTokens(deps.signIn, refresh);
    if (fresh) {
      // Only over the row we read: a newer sign-in's tokens stay.
      const { rows: updated } = await db.query(
        `UPDATE github_user_tokens SET access_token = $3, access_expires_at = $4, refresh_token = $5, refresh_expires_at = $6,
           updated_at = now() WHERE account_id = $1 AND access_token = $2 RETURNING account_id`,
        [
          accountId,
          row.access_token,
          encrypt(deps.key, fresh.accessToken, context(accountId, 'access')),
          fresh.accessExpiresAt,
          fresh.refreshToken === null ? null : encrypt(deps.key, fresh.refreshToken, context(accountId, 'refresh')),
          fresh.refreshExpiresAt,
        ],
      );
      if (updated.length) return fresh.accessToken;
      continue;
    }
    // Refused: revoked, or another caller used the refresh token first and stored its answer.
    if (await dropIfUnchanged(db, accountId, row.access_token)) return null;
  }
  return null;
}

async function dropIfUnchanged(db: Queryable, accountId: string, sealedAccess: string): Promise<boolean> {
  const { rows } = await db.query('DELETE FROM github_user_tokens WHERE account_id = $1 AND access_token = $2 RETURNING account_id', [
    accountId,
    sealedAccess,
  ]);
  return rows.length > 0;
}
