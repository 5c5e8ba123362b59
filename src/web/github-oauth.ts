import { z } from 'zod';
import type { Config } from '../config.js';
import { KodahError } from '../lib/errors.js';

export type SignInConfig = NonNullable<Config['signIn']>;

/** A user's tokens as GitHub hands them out; expiry times are absolute (null: never). */
export interface UserTokens {
  accessToken: string;
  accessExpiresAt: Date | null;
  refreshToken: string | null;
  refreshExpiresAt: Date | null;
}

export interface GitHubUser {
  id: number;
  login: string;
  /** The primary, verified e-mail; null when GitHub shows none. */
  email: string | null;
}

const TIMEOUT_MS = 10_000;

const tokenAnswer = z.union([
  z.object({
    access_token: z.string().min(1),
    expires_in: z.coerce.number().int().positive().optional(),
    refresh_token: z.string().min(1).optional(),
    refresh_token_expires_in: z.coerce.number().int().positive().optional(),
  }),
  z.object({ error: z.string(), error_description: z.string().optional() }),
]);
const userAnswer = z.object({ id: z.number().int().positive(), login: z.string().min(1), email: z.string().nullish() });
const emailsAnswer = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }));

/** Where /login sends the browser: GitHub's consent page, which comes back to `redirectUri`. */
export function authorizeUrl(signIn: SignInConfig, redirectUri: string, state: string): string {
  const url = new URL(`${signIn.webUrl}/login/oauth/authorize`);
  url.searchParams.set('client_id', signIn.clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('state', state);
  url.searchParams.set('scope', 'read:user user:email');
  return url.toString();
}

async function call(url: string, init: RequestInit): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
  } catch (err) {
    throw new KodahError('internal', `GitHub did not answer (${(err as Error).message})`, { cause: err, retryable: true });
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new KodahError('internal', `GitHub answered ${res.status} without JSON`, { retryable: true });
  }
}

/** Both grants of GitHub's token endpoint; `error` holds GitHub's refusal (bad_verification_code, bad_refresh_token). */
async function tokenGrant(signIn: SignInConfig, params: Record<string, string>): Promise<UserTokens | { error: string }> {
  const { status, body } = await call(`${signIn.webUrl}/login/oauth/access_token`, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', 'user-agent': 'kodah' },
    body: JSON.stringify({ client_id: signIn.clientId, client_secret: signIn.clientSecret, ...params }),
  });
  const parsed = tokenAnswer.safeParse(body);
  if (!parsed.success || status !== 200) {
    throw new KodahError('internal', `GitHub's token endpoint answered ${status} with an unexpected body`, { retryable: true });
  }
  const t = parsed.data;
  if ('error' in t) return { error: t.error };
  const now = Date.now();
  return {
    accessToken: t.access_token,
    accessExpiresAt: t.expires_in ? new Date(now + t.expires_in * 1000) : null,
    refreshToken: t.refresh_token ?? null,
    refreshExpiresAt: t.refresh_token && t.refresh_token_expires_in ? new Date(now + t.refresh_token_expires_in * 1000) : null,
  };
}

/** Trades the callback's code for the user's tokens; a used, wrong or expired code is the visitor's error. */
export async function exchangeCode(signIn: SignInConfig, code: string, redirectUri: string): Promise<UserTokens> {
  const answer = await tokenGrant(signIn, { code, redirect_uri: redirectUri });
  if ('error' in answer)
    throw new KodahError('invalid_input', `GitHub refused the sign-in (${answer.error}): please sign in again`, { kind: 'input' });
  return answer;
}

/** New tokens for a refresh token; null when GitHub refuses it (revoked, expired or already used). */
export async function refreshTokens(signIn: SignInConfig, refreshToken: string): Promise<UserTokens | null> {
  const answer = await tokenGrant(signIn, { grant_type: 'refresh_token', refresh_token: refreshToken });
  return 'error' in answer ? null : answer;
}

const apiHeaders = (token: string) => ({
  accept: 'application/vnd.github+json',
  authorization: `Bearer ${token}`,
  'x-github-api-version': '2022-11-28',
  'user-agent': 'kodah',
});

/** Who the token belongs to, with the primary verified e-mail when GitHub lets us read it. */
export async function fetchGitHubUser(signIn: SignInConfig, token: string): Promise<GitHubUser> {
  const user = await call(`${signIn.apiUrl}/user`, { headers: apiHeaders(token) });
  const parsed = userAnswer.safeParse(user.body);
  if (user.status !== 200 || !parsed.success) {
    throw new KodahError('internal', `GitHub's /user answered ${user.status} with an unexpected body`, { retryable: true });
  }
  // An App without the e-mail permission gets 403 or 404 here: the profile's public e-mail is
  // then the best there is (GitHub shows only verified addresses there).
  const emails = await call(`${signIn.apiUrl}/user/emails`, { headers: apiHeaders(token) });
  const list = emails.status === 200 ? emailsAnswer.safeParse(emails.body) : null;
  const primary = list?.success ? list.data.find((e) => e.primary && e.verified)?.email : undefined;
  return { id: parsed.data.id, login: parsed.data.login, email: primary ?? parsed.data.email ?? null };
}
