-- Commits in the history's order: `seq` grows from parents to children (git log --date-order,
-- numbered backwards, each index run above the last), so newest first is ORDER BY seq DESC even
-- for commits of one second. Commits mapped before this column get their date's order.
ALTER TABLE code_commits ADD COLUMN IF NOT EXISTS seq bigint;
UPDATE code_commits c SET seq = o.n
  FROM (SELECT repository_id, sha, row_number() OVER (PARTITION BY repository_id ORDER BY date, sha DESC) AS n FROM code_commits) o
 WHERE c.repository_id = o.repository_id AND c.sha = o.sha AND c.seq IS NULL;
ALTER TABLE code_commits ALTER COLUMN seq SET NOT NULL;
CREATE INDEX IF NOT EXISTS code_commits_seq ON code_commits (repository_id, seq DESC);
DROP INDEX IF EXISTS code_commits_date;
