import type { Queryable } from '../db/database.js';
import { randomToken, sameString, sha256, sign } from './secrets.js';

export const SESSION_COOKIE = 'kodah_session';
/** A session lasts a week from sign-in; signing in again starts a new one. */
export const SESSION_TTL_S = 7 * 24 * 3600;

/** Opens a session for the account; returns the cookie's value, which exists nowhere else. */
export async function createSession(db: Queryable, accountId: string): Promise<string> {
  const id = randomToken();
  await db.query('DELETE FROM web_sessions WHERE expires_at < now()');
  await db.query(`INSERT INTO web_sessions (id_hash, account_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`, [
    sha256(id),
    accountId,
    SESSION_TTL_S,
  ]);
  return id;
}

/** The account of a live session, or null for a missing, unknown or expired one. */
export async function sessionAccount(db: Queryable, id: string | undefined): Promise<string | null> {
  if (!id) return null;
  const { rows } = await db.query<{ account_id: string }>('SELECT account_id FROM web_sessions WHERE id_hash = $1 AND expires_at > now()', [
    sha256(id),
  ]);
  return rows[0]?.account_id ?? null;
}

export async function deleteSession(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM web_sessions WHERE id_hash = $1', [sha256(id)]);
}

/** The CSRF token of a session: forms carry it, and only pages of this session can know it. */
export function csrfToken(key: Buffer, sessionId: string): string {
  return sign(key, 'csrf', sessionId);
}

export function validCsrfToken(key: Buffer, sessionId: string, given: unknown): boolean {
  return typeof given === 'string' && sameString(given, csrfToken(key, sessionId));
}
