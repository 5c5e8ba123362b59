-- The agent's steps for a job (each tool the model called, what on, how it went and how long), in
-- order, for the attempt that holds the job. GET /jobs/{id}/events streams them while the job runs
-- and the status shows the latest, so a person watches the fix being made instead of a percentage,
-- and sees where a failed one went wrong.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS steps jsonb NOT NULL DEFAULT '[]'::jsonb;
