import type { Queryable } from '../db/database.js';
import { KodahError } from '../lib/errors.js';

export interface RepositoryRow {
  id: string;
  account_id: string;
  remote_uri: string;
  sanitized_remote_uri: string;
  cloned_path: string | null;
  default_branch: string | null;
  indexed_commit: string | null;
  created_at: Date;
  updated_at: Date;
  total_commits: number;
  total_branches: number;
}

/** The comparable form of a remote: lower-case host, no ".git", no trailing slash. */
export function sanitizeRemoteUri(uri: string): string {
  const url = new URL(uri);
  url.hostname = url.hostname.toLowerCase();
  url.pathname = url.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  return url.toString().replace(/\/$/, '');
}

const SELECT = `
  SELECT r.id::text AS id, r.account_id, r.remote_uri, r.sanitized_remote_uri, r.cloned_path, r.default_branch,
         r.indexed_commit, r.created_at, r.updated_at,
         (SELECT count(*)::int FROM code_commits c WHERE c.repository_id = r.id) AS total_commits,
         (SELECT count(*)::int FROM code_branches b WHERE b.repository_id = r.id) AS total_branches
    FROM code_repositories r`;

/** Ids are numbers; anything else names no repository (and must not reach SQL as a bigint). */
function parseId(id: string): string | null {
  return /^[1-9][0-9]{0,17}$/.test(id) ? id : null;
}

/** Creates the account's repository for the URI, or returns the one it already has. */
export async function upsertRepository(
  db: Queryable,
  accountId: string,
  remoteUri: string,
): Promise<{ repository: RepositoryRow; created: boolean }> {
  const sanitized = sanitizeRemoteUri(remoteUri);
  const inserted = await db.query<{ id: string }>(
    `INSERT INTO code_repositories (account_id, remote_uri, sanitized_remote_uri) VALUES ($1, $2, $3)
     ON CONFLICT (account_id, sanitized_remote_uri) DO NOTHING RETURNING id::text`,
    [accountId, remoteUri, sanitized],
  );
  const existing = await db.query<RepositoryRow>(`${SELECT} WHERE r.account_id = $1 AND r.sanitized_remote_uri = $2`, [
    accountId,
    sanitized,
  ]);
  return { repository: existing.rows[0]!, created: inserted.rows.length > 0 };
}

export async function listRepositories(db: Queryable, accountId: string): Promise<RepositoryRow[]> {
  return (await db.query<RepositoryRow>(`${SELECT} WHERE r.account_id = $1 ORDER BY r.id`, [accountId])).rows;
}

/** The account's repository, or a 404 naming what was asked for. */
export async function getRepository(db: Queryable, accountId: string, id: string, noun = 'Repository'): Promise<RepositoryRow> {
  const parsed = parseId(id);
  const row = parsed
    ? (await db.query<RepositoryRow>(`${SELECT} WHERE r.account_id = $1 AND r.id = $2`, [accountId, parsed])).rows[0]
    : undefined;
  if (!row) throw new KodahError('not_found', `${noun} ${id} not found`, { kind: 'input' });
  return row;
}

/** A repository by id alone, for workers; null once it has been deleted. */
export async function findRepository(db: Queryable, id: string): Promise<RepositoryRow | null> {
  return (await db.query<RepositoryRow>(`${SELECT} WHERE r.id = $1`, [id])).rows[0] ?? null;
}

/**
 * Deletes the repository with its commits, files and steps (cascade), and then the blobs no
 * other repository's files use, with their snippets and vectors. Returns whether any other
 * repository still uses the same remote (then its mirror on disk must stay).
 */
export async function deleteRepository(
  db: Queryable,
  accountId: string,
  id: string,
): Promise<{ mirrorShared: boolean; remoteUri: string }> {
  const repository = await getRepository(db, accountId, id);
  await db.query(
    `WITH gone AS (DELETE FROM code_files WHERE repository_id = $1 RETURNING blob_sha)
     DELETE FROM code_blobs b WHERE b.sha IN (SELECT DISTINCT blob_sha FROM gone)
       AND NOT EXISTS (SELECT 1 FROM code_files f WHERE f.blob_sha = b.sha AND f.repository_id <> $1)`,
    [repository.id],
  );
  await db.query('DELETE FROM code_repositories WHERE id = $1', [repository.id]);
  const shared = await db.query('SELECT 1 FROM code_repositories WHERE sanitized_remote_uri = $1 LIMIT 1', [
    repository.sanitized_remote_uri,
  ]);
  return { mirrorShared: shared.rows.length > 0, remoteUri: repository.remote_uri };
}
