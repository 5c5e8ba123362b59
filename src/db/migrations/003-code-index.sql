-- The code index: repositories mapped into commits, branches, tags and files, and snippets
-- stored once per blob (content-addressed), so a new commit only processes blobs never seen.

CREATE TABLE IF NOT EXISTS code_repositories (
  id                    bigserial PRIMARY KEY,
  account_id            uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  -- As given, minus any credentials; sanitized is the comparable form (no ".git", no trailing "/").
  remote_uri            text NOT NULL,
  sanitized_remote_uri  text NOT NULL,
  cloned_path           text,
  default_branch        text,
  -- The commit whose files and snippets are searchable; NULL until the first index completes.
  indexed_commit        text,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS code_repositories_uri ON code_repositories (account_id, sanitized_remote_uri);

CREATE TABLE IF NOT EXISTS code_commits (
  repository_id  bigint NOT NULL REFERENCES code_repositories (id) ON DELETE CASCADE,
  sha            text NOT NULL,
  parent_sha     text,
  author         text NOT NULL,
  date           timestamptz NOT NULL,
  message        text NOT NULL,
  PRIMARY KEY (repository_id, sha)
);
CREATE INDEX IF NOT EXISTS code_commits_date ON code_commits (repository_id, date DESC);

CREATE TABLE IF NOT EXISTS code_branches (
  repository_id  bigint NOT NULL REFERENCES code_repositories (id) ON DELETE CASCADE,
  name           text NOT NULL,
  head_sha       text NOT NULL,
  is_default     boolean NOT NULL,
  commit_count   integer NOT NULL,
  PRIMARY KEY (repository_id, name)
);

CREATE TABLE IF NOT EXISTS code_tags (
  repository_id  bigint NOT NULL REFERENCES code_repositories (id) ON DELETE CASCADE,
  name           text NOT NULL,
  target_sha     text NOT NULL,
  PRIMARY KEY (repository_id, name)
);

-- One row per blob ever indexed. Content is kept for text files within the size limit, so the
-- API and search answer from any machine, not only the worker that holds the clone.
CREATE TABLE IF NOT EXISTS code_blobs (
  sha            text PRIMARY KEY,
  size           integer NOT NULL,
  language       text,
  is_binary      boolean NOT NULL,
  content        text,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- The files of each scanned commit, with what the history says of each path.
CREATE TABLE IF NOT EXISTS code_files (
  repository_id  bigint NOT NULL REFERENCES code_repositories (id) ON DELETE CASCADE,
  commit_sha     text NOT NULL,
  path           text NOT NULL,
  blob_sha       text NOT NULL,
  size           integer NOT NULL,
  extension      text NOT NULL,
  authors        text[] NOT NULL,
  first_date     timestamptz,
  last_date      timestamptz,
  PRIMARY KEY (repository_id, commit_sha, path)
);
CREATE INDEX IF NOT EXISTS code_files_blob ON code_files (blob_sha);

-- Snippets of a blob: a function, method or class, or a window of lines. `terms` holds the
-- snippet's code-aware tokens with counts ("term:tf …"), the input of the BM25 index.
CREATE TABLE IF NOT EXISTS code_snippets (
  id              bigserial PRIMARY KEY,
  blob_sha        text NOT NULL REFERENCES code_blobs (sha) ON DELETE CASCADE,
  ordinal         integer NOT NULL,
  kind            text NOT NULL,
  name            text NOT NULL,
  qualified_name  text NOT NULL,
  enclosing       text,
  language        text NOT NULL,
  start_line      integer NOT NULL,
  end_line        integer NOT NULL,
  signature       text NOT NULL,
  terms           text NOT NULL,
  length          integer NOT NULL,
  UNIQUE (blob_sha, ordinal)
);

-- Optional vectors from an OpenAI-compatible embeddings endpoint, per model.
CREATE TABLE IF NOT EXISTS code_embeddings (
  snippet_id  bigint NOT NULL REFERENCES code_snippets (id) ON DELETE CASCADE,
  model       text NOT NULL,
  vector      bytea NOT NULL,
  PRIMARY KEY (snippet_id, model)
);

-- The steps of a repository's latest index run, as /api/v1/indexes/{id}/status shows them.
CREATE TABLE IF NOT EXISTS code_index_steps (
  repository_id  bigint NOT NULL REFERENCES code_repositories (id) ON DELETE CASCADE,
  step           text NOT NULL,
  position       integer NOT NULL,
  state          text NOT NULL,
  current        integer NOT NULL DEFAULT 0,
  total          integer NOT NULL DEFAULT 0,
  error          text NOT NULL DEFAULT '',
  message        text NOT NULL DEFAULT '',
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository_id, step)
);
