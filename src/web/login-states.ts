import type { Queryable } from '../db/database.js';
import { randomToken, sameString, sha256, sign } from './secrets.js';

/** How long a visitor may take at GitHub's consent page. */
export const LOGIN_STATE_TTL_S = 600;

/** What a state is for: one made for one flow (signing in, registering the App at /setup) fails the other's check. */
export type StatePurpose = 'login-state' | 'setup-state';

/**
 * Starts a sign-in: the `state` GitHub hands back, and the value of the cookie that binds it to this
 * browser. The state is signed over that cookie, so a state from another browser fails the check;
 * its hash is stored with an expiry, and consumeLoginState deletes it, so it works once.
 */
export async function createLoginState(
  db: Queryable,
  key: Buffer,
  purpose: StatePurpose = 'login-state',
): Promise<{ state: string; browser: string }> {
  const browser = randomToken();
  const nonce = randomToken();
  const state = `${nonce}.${sign(key, purpose, nonce, browser)}`;
  // Old rows are litter: whoever starts a sign-in sweeps them.
  await db.query('DELETE FROM web_login_states WHERE expires_at < now()');
  await db.query(`INSERT INTO web_login_states (state_hash, expires_at) VALUES ($1, now() + make_interval(secs => $2))`, [
    sha256(state),
    LOGIN_STATE_TTL_S,
  ]);
  return { state, browser };
}

/**
 * Whether `state` is one this server made for this browser within the last ten minutes and never
 * used; a true answer uses it up. Forged, foreign, expired and replayed states all answer false.
 */
export async function consumeLoginState(
  db: Queryable,
  key: Buffer,
  state: string,
  browser: string | undefined,
  purpose: StatePurpose = 'login-state',
): Promise<boolean> {
  const [nonce, signature, extra] = state.split('.');
  if (!nonce || !signature || extra !== undefined || !browser) return false;
  if (!sameString(signature, sign(key, purpose, nonce, browser))) return false;
  const { rows } = await db.query('DELETE FROM web_login_states WHERE state_hash = $1 RETURNING expires_at > now() AS live', [
    sha256(state),
  ]);
  return (rows[0] as { live?: boolean } | undefined)?.live === true;
}
