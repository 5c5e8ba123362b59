-- When each repository's remote was last checked for moved branches or tags (index sync).
-- New repositories start checked: their first run is queued as they are created.
ALTER TABLE code_repositories ADD COLUMN IF NOT EXISTS synced_at timestamptz;
ALTER TABLE code_repositories ALTER COLUMN synced_at SET DEFAULT now();
CREATE INDEX IF NOT EXISTS code_repositories_synced_at ON code_repositories (synced_at NULLS FIRST);
