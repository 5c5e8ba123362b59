-- Stripe refunds and disputes of purchases. A purchase is found from a charge by its payment
-- intent, recorded when the session is paid. Each reversal takes credits back (or, a dispute won,
-- gives them back) as a ledger row in the transaction that records it here, once per Stripe object.

ALTER TABLE purchases ADD COLUMN IF NOT EXISTS payment_intent text;
CREATE UNIQUE INDEX IF NOT EXISTS purchases_payment_intent ON purchases (payment_intent) WHERE payment_intent IS NOT NULL;

CREATE TABLE IF NOT EXISTS purchase_reversals (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id  text NOT NULL REFERENCES purchases (session_id),
  -- refund: a charge.refunded event (its id), whose cents are what its cumulative amount_refunded
  -- adds to the refunds before it; dispute: a dispute opened (the dispute's id), dispute_won: the
  -- same dispute closed in the buyer's disfavour, which gives back what its opening took.
  kind        text NOT NULL CHECK (kind IN ('refund', 'dispute', 'dispute_won')),
  stripe_id   text NOT NULL,
  -- What this reversal moved: 0 when an earlier one had already taken everything back.
  cents       integer NOT NULL CHECK (cents >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, stripe_id)
);
CREATE INDEX IF NOT EXISTS purchase_reversals_session ON purchase_reversals (session_id);

-- The ledger's new kinds: credits taken back for a refunded or disputed payment (negative), and
-- given back when a dispute is won (positive). None belongs to a job.
ALTER TABLE ledger DROP CONSTRAINT IF EXISTS ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
  CHECK (kind IN ('monthly_grant', 'purchase', 'grant', 'debit', 'refund', 'purchase_refund', 'dispute', 'dispute_won'));
ALTER TABLE ledger DROP CONSTRAINT IF EXISTS ledger_check2;
ALTER TABLE ledger DROP CONSTRAINT IF EXISTS ledger_negative_kinds;
ALTER TABLE ledger ADD CONSTRAINT ledger_negative_kinds
  CHECK ((kind IN ('debit', 'purchase_refund', 'dispute')) = (amount < 0) OR amount = 0);

-- A refund or dispute of credits already spent leaves the paid balance below zero: a debt that
-- the next purchase pays first, and that keeps paid (and private-repository) jobs out until then,
-- since kodah_accept_job takes paid credits only while the balance covers the price. Debits never
-- make it negative: that function checks the balance under the account's row lock.
ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_paid_balance_cents_check;
