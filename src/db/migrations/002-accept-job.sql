-- Accepting a job in one round trip: lock the account, choose how it is paid, check the limits,
-- record the job and its debit. Kept in the database because these steps must see one consistent
-- balance under concurrent submissions, and because one call instead of nine is what lets the
-- accept path keep up with hundreds of submissions a second.
--
-- The checks answer in this order, first failure wins (documented in submit-job.ts):
--   private repository without paid credits, no credits, job already in progress, at capacity.
-- Free fixes go first for a public repository; a private one is paid only.
CREATE OR REPLACE FUNCTION kodah_accept_job(
  p_job_id uuid, p_account_id uuid, p_task text, p_repo_url text, p_ref text, p_description text,
  p_visibility text, p_source text, p_commit_sha text,
  p_period text, p_price_cents integer, p_free_per_month integer, p_default_max_running integer, p_at_capacity boolean
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_paid integer;
  v_max_running integer;
  v_free integer;
  v_granted boolean;
  v_pool text;
  v_count integer;
BEGIN
  SELECT paid_balance_cents, COALESCE(max_running_jobs, p_default_max_running)
    INTO v_paid, v_max_running FROM accounts WHERE id = p_account_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'no_account';
  END IF;

  -- This month's free grant is written with its first debit; until then the month is untouched.
  SELECT COALESCE(SUM(amount), 0), COALESCE(bool_or(kind = 'monthly_grant'), false)
    INTO v_free, v_granted FROM ledger WHERE account_id = p_account_id AND pool = 'free' AND period = p_period;
  IF NOT v_granted THEN
    v_free := v_free + p_free_per_month;
  END IF;

  IF p_visibility = 'public' AND v_free > 0 THEN
    v_pool := 'free';
  ELSIF v_paid >= p_price_cents THEN
    v_pool := 'paid';
  ELSIF p_visibility = 'private' THEN
    RETURN 'private_needs_paid';
  ELSE
    RETURN 'no_credits';
  END IF;

  SELECT count(*) INTO v_count FROM jobs WHERE account_id = p_account_id AND state IN ('queued', 'running');
  IF v_count >= v_max_running THEN
    RETURN 'job_in_progress';
  END IF;
  -- The queue depth is measured by the caller (jobs/queue-depth.ts): a back-pressure valve need
  -- not cost a count of the queue on every submission.
  IF p_at_capacity THEN
    RETURN 'at_capacity';
  END IF;

  -- clock_timestamp(), not now(): the moment of acceptance, not the start of the transaction.
  INSERT INTO jobs (id, account_id, task, repo_url, ref, description, visibility, source, state, stage, commit_sha, created_at)
  VALUES (p_job_id, p_account_id, p_task, p_repo_url, p_ref, p_description, p_visibility, p_source,
          'queued', 'waiting for a worker', p_commit_sha, clock_timestamp());

  IF v_pool = 'free' THEN
    INSERT INTO ledger (account_id, kind, pool, amount, period, note)
    VALUES (p_account_id, 'monthly_grant', 'free', p_free_per_month, p_period, 'free fixes of the month')
    ON CONFLICT DO NOTHING;
    INSERT INTO ledger (account_id, job_id, kind, pool, amount, period)
    VALUES (p_account_id, p_job_id, 'debit', 'free', -1, p_period);
  ELSE
    INSERT INTO ledger (account_id, job_id, kind, pool, amount)
    VALUES (p_account_id, p_job_id, 'debit', 'paid', -p_price_cents);
    -- The CHECK (paid_balance_cents >= 0) is the last guard against a negative balance.
    UPDATE accounts SET paid_balance_cents = paid_balance_cents - p_price_cents WHERE id = p_account_id;
  END IF;
  RETURN 'accepted';
END;
$$;
