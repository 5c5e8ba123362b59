-- Credits bought with Stripe Checkout: one row per session Kodah created. A webhook credits only a
-- session found here, only the cents recorded here, and only once (state moves to 'paid' once).
CREATE TABLE IF NOT EXISTS purchases (
  -- Stripe's Checkout Session id (cs_…).
  session_id  text PRIMARY KEY,
  account_id  uuid NOT NULL REFERENCES accounts (id),
  cents       integer NOT NULL CHECK (cents > 0),
  state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'paid', 'expired', 'failed')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  paid_at     timestamptz,
  CHECK ((state = 'paid') = (paid_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS purchases_account ON purchases (account_id, created_at DESC);
