-- Signing in with GitHub on the pages: the OAuth states in flight, browser sessions, and each
-- account's GitHub user token. Nothing here is usable if the table leaks: states and session ids
-- are stored as SHA-256 hashes, tokens encrypted (AES-256-GCM with KODAH_SECRET_KEY).

-- One row per sign-in started at /login; the callback deletes it, so a state works once.
CREATE TABLE IF NOT EXISTS web_login_states (
  state_hash  text PRIMARY KEY,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS web_login_states_expiry ON web_login_states (expires_at);

CREATE TABLE IF NOT EXISTS web_sessions (
  -- SHA-256 of the cookie's value: a copy of the table signs nobody in.
  id_hash     text PRIMARY KEY,
  account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_account ON web_sessions (account_id);
CREATE INDEX IF NOT EXISTS web_sessions_expiry ON web_sessions (expires_at);

-- The user's GitHub token from the last sign-in, for reaching their private repositories later.
CREATE TABLE IF NOT EXISTS github_user_tokens (
  account_id          uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  access_token        text NOT NULL,
  -- NULL: the token does not expire (an OAuth App without expiring tokens).
  access_expires_at   timestamptz,
  refresh_token       text,
  refresh_expires_at  timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now()
);
