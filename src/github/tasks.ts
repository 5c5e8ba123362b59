import { createHash } from 'node:crypto';
import type { Database, Queryable } from '../db/database.js';

export type TaskKind = 'issue' | 'revision' | 'check';
export type TaskState = 'pending' | 'submitted' | 'refused' | 'delivered';

/** A fix GitHub asked for: what started it and where its answer goes. */
export interface GitHubTask {
  id: string;
  installationId: number;
  repositoryId: number;
  repoFullName: string;
  kind: TaskKind;
  title: string;
  /** The issue or pull request the conversation happens on. */
  issueNumber: number;
  /** For a revision: the issue Kodah's pull request closes. */
  originIssue: number | null;
  /** Where a pull request goes (the default branch, or a failing pull request's branch). */
  baseRef: string;
  /** The commit to fix when it is not the tip of baseRef (a failed check's head, a revised branch). */
  headSha: string | null;
  delivery: 'pull_request' | 'comment';
  trigger: string;
  statusCommentId: number | null;
  statusStage: string | null;
  state: TaskState;
  branch: string | null;
  prNumber: number | null;
  prUrl: string | null;
}

export type NewTask = Omit<GitHubTask, 'statusCommentId' | 'statusStage' | 'state' | 'branch' | 'prNumber' | 'prUrl'>;

interface TaskRow {
  id: string;
  installation_id: string | number;
  repository_id: string | number;
  repo_full_name: string;
  kind: TaskKind;
  title: string;
  issue_number: number;
  origin_issue: number | null;
  base_ref: string;
  head_sha: string | null;
  delivery: 'pull_request' | 'comment';
  trigger: string;
  status_comment_id: string | number | null;
  status_stage: string | null;
  state: TaskState;
  branch: string | null;
  pr_number: number | null;
  pr_url: string | null;
}

function toTask(row: TaskRow): GitHubTask {
  return {
    id: row.id,
    installationId: Number(row.installation_id),
    repositoryId: Number(row.repository_id),
    repoFullName: row.repo_full_name,
    kind: row.kind,
    title: row.title,
    issueNumber: row.issue_number,
    originIssue: row.origin_issue,
    baseRef: row.base_ref,
    headSha: row.head_sha,
    delivery: row.delivery,
    trigger: row.trigger,
    statusCommentId: row.status_comment_id === null ? null : Number(row.status_comment_id),
    statusStage: row.status_stage,
    state: row.state,
    branch: row.branch,
    prNumber: row.pr_number,
    prUrl: row.pr_url,
  };
}

/**
 * The task id (and job id) for a delivery: a uuid derived from it, so a retried or redelivered
 * event finds the task, comment and job it made the first time instead of making new ones.
 */
export function taskIdFor(delivery: string, discriminator = ''): string {
  const hex = createHash('sha256').update(`kodah-github-task\0${delivery}\0${discriminator}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Creates the task unless it exists; resolves to the stored task either way. */
export async function createTask(db: Queryable, task: NewTask): Promise<GitHubTask> {
  await db.query(
    `INSERT INTO github_tasks (id, installation_id, repository_id, repo_full_name, kind, title, issue_number, origin_issue, base_ref, head_sha, delivery, trigger)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
    [
      task.id,
      task.installationId,
      task.repositoryId,
      task.repoFullName,
      task.kind,
      task.title,
      task.issueNumber,
      task.originIssue,
      task.baseRef,
      task.headSha,
      task.delivery,
      task.trigger,
    ],
  );
  return (await getTask(db, task.id))!;
}

export async function getTask(db: Queryable, id: string): Promise<GitHubTask | null> {
  const { rows } = await db.query<TaskRow>('SELECT * FROM github_tasks WHERE id = $1', [id]);
  return rows[0] ? toTask(rows[0]) : null;
}

/** The newest task of an issue or pull request, for `/kodah retry` and `/kodah cancel`. */
export async function latestTask(db: Queryable, repositoryId: number, issueNumber: number): Promise<GitHubTask | null> {
  const { rows } = await db.query<TaskRow>(
    'SELECT * FROM github_tasks WHERE repository_id = $1 AND issue_number = $2 ORDER BY created_at DESC LIMIT 1',
    [repositoryId, issueNumber],
  );
  return rows[0] ? toTask(rows[0]) : null;
}

/** The task whose pull request is `prNumber` (Kodah's own pull request), if any. */
export async function taskOfPullRequest(db: Queryable, repositoryId: number, prNumber: number): Promise<GitHubTask | null> {
  const { rows } = await db.query<TaskRow>(
    'SELECT * FROM github_tasks WHERE repository_id = $1 AND pr_number = $2 ORDER BY created_at DESC LIMIT 1',
    [repositoryId, prNumber],
  );
  return rows[0] ? toTask(rows[0]) : null;
}

/** The task that opened pull request `prNumber`: the bug as first described, before any revision. */
export async function firstTaskOfPullRequest(db: Queryable, repositoryId: number, prNumber: number): Promise<GitHubTask | null> {
  const { rows } = await db.query<TaskRow>(
    'SELECT * FROM github_tasks WHERE repository_id = $1 AND pr_number = $2 ORDER BY created_at ASC LIMIT 1',
    [repositoryId, prNumber],
  );
  return rows[0] ? toTask(rows[0]) : null;
}

export async function updateTask(
  db: Queryable,
  id: string,
  changes: Partial<Pick<GitHubTask, 'statusCommentId' | 'statusStage' | 'state' | 'branch' | 'prNumber' | 'prUrl'>>,
): Promise<void> {
  const columns: Record<string, string> = {
    statusCommentId: 'status_comment_id',
    statusStage: 'status_stage',
    state: 'state',
    branch: 'branch',
    prNumber: 'pr_number',
    prUrl: 'pr_url',
  };
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const [key, value] of Object.entries(changes)) {
    values.push(value);
    sets.push(`${columns[key]} = $${values.length}`);
  }
  if (changes.state === 'delivered') sets.push('delivered_at = now()');
  if (sets.length) await db.query(`UPDATE github_tasks SET ${sets.join(', ')} WHERE id = $1`, values);
}

/**
 * Claims the failed checks of a head commit for a task, each at most `limit` times; resolves to
 * the names this task may fix (none when every check had its attempts).
 */
export async function claimChecks(
  db: Database,
  repositoryId: number,
  headSha: string,
  names: string[],
  taskId: string,
  limit: number,
): Promise<string[]> {
  return db.transaction(async (tx) => {
    // check_run, check_suite and workflow_run report one failure three times, often at once.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`github-checks:${repositoryId}:${headSha}`]);
    return claimChecksLocked(tx, repositoryId, headSha, names, taskId, limit);
  });
}

async function claimChecksLocked(
  db: Queryable,
  repositoryId: number,
  headSha: string,
  names: string[],
  taskId: string,
  limit: number,
): Promise<string[]> {
  const { rows } = await db.query<{ check_name: string }>(
    `INSERT INTO github_check_attempts (repository_id, head_sha, check_name, task_id)
     SELECT $1, $2, n, $4 FROM unnest($3::text[]) AS n
      WHERE (SELECT count(*) FROM github_check_attempts a
              WHERE a.repository_id = $1 AND a.head_sha = $2 AND a.check_name = n AND a.task_id <> $4) < $5
     ON CONFLICT DO NOTHING RETURNING check_name`,
    [repositoryId, headSha, names, taskId, limit],
  );
  if (rows.length) return rows.map((r) => r.check_name);
  // A retry of the same task finds the claims it already made.
  const mine = await db.query<{ check_name: string }>(
    'SELECT check_name FROM github_check_attempts WHERE repository_id = $1 AND head_sha = $2 AND task_id = $3',
    [repositoryId, headSha, taskId],
  );
  return mine.rows.map((r) => r.check_name);
}
