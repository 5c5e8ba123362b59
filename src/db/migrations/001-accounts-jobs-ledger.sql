-- Accounts, API keys, jobs and the append-only credit ledger.
-- Every statement is idempotent so a half-applied database can be brought up to date.

CREATE TABLE IF NOT EXISTS accounts (
  id                  uuid PRIMARY KEY,
  email               text NOT NULL,
  github_login        text,
  github_id           bigint,
  -- A cache of SUM(ledger.amount) over the paid pool, kept in the same transactions as the ledger.
  paid_balance_cents  integer NOT NULL DEFAULT 0 CHECK (paid_balance_cents >= 0),
  -- NULL: the server default (KODAH_MAX_RUNNING_JOBS_PER_ACCOUNT).
  max_running_jobs    integer CHECK (max_running_jobs IS NULL OR max_running_jobs > 0),
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS accounts_email_key ON accounts (lower(email));
CREATE UNIQUE INDEX IF NOT EXISTS accounts_github_id_key ON accounts (github_id) WHERE github_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS api_keys (
  id          uuid PRIMARY KEY,
  account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  -- SHA-256 of the whole key: keys carry 256 random bits, so a fast hash is enough.
  key_hash    text NOT NULL UNIQUE,
  -- "kdh_" and the first characters, to tell keys apart in listings without revealing them.
  key_prefix  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_account ON api_keys (account_id) WHERE revoked_at IS NULL;

CREATE TABLE IF NOT EXISTS jobs (
  id            uuid PRIMARY KEY,
  account_id    uuid NOT NULL REFERENCES accounts (id),
  task          text NOT NULL CHECK (task IN ('fix')),
  repo_url      text NOT NULL,
  ref           text NOT NULL,
  description   text NOT NULL,
  visibility    text NOT NULL CHECK (visibility IN ('public', 'private')),
  source        text NOT NULL DEFAULT 'api',
  state         text NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  stage         text,
  progress      integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  -- The queue attempt that holds the job; a late writer from an older attempt changes nothing.
  attempt       integer NOT NULL DEFAULT -1,
  commit_sha    text,
  error         text,
  error_code    text,
  error_kind    text CHECK (error_kind IN ('system', 'input')),
  last_error    text,
  result        jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  completed_at  timestamptz
);
CREATE INDEX IF NOT EXISTS jobs_account_recent ON jobs (account_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_active ON jobs (account_id) WHERE state IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs (created_at) WHERE state = 'queued';

CREATE TABLE IF NOT EXISTS ledger (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id  uuid NOT NULL REFERENCES accounts (id),
  job_id      uuid REFERENCES jobs (id),
  kind        text NOT NULL CHECK (kind IN ('monthly_grant', 'purchase', 'grant', 'debit', 'refund')),
  -- free: whole fixes of one calendar month (period); paid: cents, never expiring.
  pool        text NOT NULL CHECK (pool IN ('free', 'paid')),
  amount      integer NOT NULL,
  period      text CHECK ((pool = 'free') = (period IS NOT NULL)),
  note        text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind IN ('debit', 'refund')) = (job_id IS NOT NULL)),
  CHECK ((kind = 'debit') = (amount < 0) OR amount = 0)
);
CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_grant_a_month ON ledger (account_id, period) WHERE kind = 'monthly_grant';
-- A job is debited once and refunded at most once, whoever tries twice.
CREATE UNIQUE INDEX IF NOT EXISTS ledger_once_per_job ON ledger (job_id, kind) WHERE kind IN ('debit', 'refund');
CREATE INDEX IF NOT EXISTS ledger_free_by_period ON ledger (account_id, period) WHERE pool = 'free';
CREATE INDEX IF NOT EXISTS ledger_account ON ledger (account_id, id);

CREATE OR REPLACE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the credit ledger is append-only';
END;
$$;
DROP TRIGGER IF EXISTS ledger_append_only ON ledger;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();
