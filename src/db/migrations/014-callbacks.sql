-- REST parity with the GitHub App: a job may ask for a signed callback when it ends and for a
-- draft pull request when it succeeds. Each lives in its own table beside jobs, written in the
-- transaction that accepts the job, so a job has them exactly when it exists.

-- The secret an account's callbacks are signed with (HMAC-SHA256). Kept in clear: signing needs
-- it, as a webhook sender keeps its webhook secrets. Made on first use; rotation replaces it.
CREATE TABLE IF NOT EXISTS account_callback_secrets (
  account_id  uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
  secret      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS job_callbacks (
  job_id        uuid PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  url           text NOT NULL,
  -- X-Kodah-Delivery: one per job, the same on every attempt, so a receiver can drop repeats.
  delivery_id   uuid NOT NULL,
  attempts      integer NOT NULL DEFAULT 0,
  -- The receiver's HTTP status on the latest attempt; null when none answered (refused, network).
  last_status   integer,
  last_error    text,
  delivered_at  timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS job_pull_requests (
  job_id           uuid PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  installation_id  bigint NOT NULL,
  repository_id    bigint NOT NULL,
  full_name        text NOT NULL,
  -- The branch the job fixed: the pull request goes into it.
  base_ref         text NOT NULL,
  branch           text,
  pr_number        integer,
  pr_url           text,
  -- Why no pull request was opened, when delivering it failed for good.
  error            text,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
