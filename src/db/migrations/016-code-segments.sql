-- Each searchable commit's search segment in its stored form (segment-codec.ts), written by the
-- index run, so a process that starts or evicted it loads one blob instead of rebuilding it from
-- every snippet row. Per summary model ('' for none): summaries are part of the segment.
CREATE TABLE IF NOT EXISTS code_segments (
  repository_id   bigint NOT NULL REFERENCES code_repositories (id) ON DELETE CASCADE,
  commit_sha      text NOT NULL,
  summary_model   text NOT NULL DEFAULT '',
  format_version  integer NOT NULL,
  data            bytea NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository_id, commit_sha, summary_model)
);
-- Postings barely compress, and decompressing a large value would cost more than reading it.
ALTER TABLE code_segments ALTER COLUMN data SET STORAGE EXTERNAL;
