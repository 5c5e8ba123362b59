-- Snippet summaries, written by a model while indexing, cached by the snippet's code and the
-- model: the same code in another file, commit or repository is summarised once.
ALTER TABLE code_snippets ADD COLUMN IF NOT EXISTS content_sha text;
CREATE TABLE IF NOT EXISTS code_summaries (
  content_sha  text NOT NULL,
  model        text NOT NULL,
  summary      text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (content_sha, model)
);
