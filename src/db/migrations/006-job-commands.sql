-- What ran in the sandbox for a job (setup and test commands, with exit code, duration, which
-- limit stopped them and the end of their output), shown on the status endpoint while the job
-- runs and after it failed: the person sees "No module named pytest", not only the model.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS commands jsonb NOT NULL DEFAULT '[]'::jsonb;
