-- The GitHub App: installations and the repositories they cover, the deliveries already taken,
-- and one row per fix GitHub asked for (what triggered it and where its answer goes).

CREATE TABLE IF NOT EXISTS github_installations (
  id                    bigint PRIMARY KEY,
  -- The owner's Kodah account: its credits pay for the installation's fixes.
  account_id            uuid NOT NULL REFERENCES accounts (id),
  owner_login           text NOT NULL,
  owner_id              bigint NOT NULL,
  owner_type            text NOT NULL,
  repository_selection  text,
  suspended_at          timestamptz,
  deleted_at            timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS github_installations_account ON github_installations (account_id);

CREATE TABLE IF NOT EXISTS github_repositories (
  -- GitHub's repository id: names change, ids do not.
  id               bigint PRIMARY KEY,
  installation_id  bigint NOT NULL REFERENCES github_installations (id),
  full_name        text NOT NULL,
  private          boolean NOT NULL,
  removed_at       timestamptz,
  added_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS github_repositories_name ON github_repositories (lower(full_name)) WHERE removed_at IS NULL;

-- X-GitHub-Delivery ids already accepted: GitHub redelivers, and a redelivery must start nothing new.
CREATE TABLE IF NOT EXISTS github_deliveries (
  id           text PRIMARY KEY,
  event        text NOT NULL,
  action       text,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS github_deliveries_received ON github_deliveries (received_at);

CREATE TABLE IF NOT EXISTS github_tasks (
  -- Also the job's id once the job is accepted (a task refused for credits has no job).
  id                 uuid PRIMARY KEY,
  installation_id    bigint NOT NULL,
  repository_id      bigint NOT NULL,
  repo_full_name     text NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('issue', 'revision', 'check')),
  -- The issue's or pull request's title at trigger time: the pull request's title is made from it.
  title              text NOT NULL,
  -- Where the conversation is: the issue, or the pull request (Kodah's own, or the failing one).
  issue_number       integer NOT NULL,
  -- The issue a revision's pull request closes, for the commit message.
  origin_issue       integer,
  base_ref           text NOT NULL,
  head_sha           text,
  delivery           text NOT NULL CHECK (delivery IN ('pull_request', 'comment')),
  trigger            text NOT NULL,
  status_comment_id  bigint,
  -- The stage the status comment shows, so an update that would change nothing is not sent.
  status_stage       text,
  state              text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'submitted', 'refused', 'delivered')),
  branch             text,
  pr_number          integer,
  pr_url             text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  delivered_at       timestamptz
);
CREATE INDEX IF NOT EXISTS github_tasks_thread ON github_tasks (repository_id, issue_number, created_at DESC);

-- Failed checks already handed to a fix: at most KODAH_GITHUB_CI_ATTEMPTS per head commit and check.
CREATE TABLE IF NOT EXISTS github_check_attempts (
  repository_id  bigint NOT NULL,
  head_sha       text NOT NULL,
  check_name     text NOT NULL,
  task_id        uuid NOT NULL,
  PRIMARY KEY (repository_id, head_sha, check_name, task_id)
);
