import { accountForGitHubOwner } from '../billing/accounts.js';
import type { Database, Queryable } from '../db/database.js';

export interface GitHubOwner {
  login: string;
  id: number;
  type: string;
}

export interface GitHubRepositoryRef {
  id: number;
  full_name: string;
  private: boolean;
}

/** The repository's installation, when one that is neither deleted nor suspended covers it. */
export interface CoveredRepository {
  installationId: number;
  repositoryId: number;
  accountId: string;
  fullName: string;
  private: boolean;
}

/** Records an installation (created, or seen again) and returns its account. */
export async function recordInstallation(
  tx: Queryable,
  installation: { id: number; account: GitHubOwner; repository_selection?: string | null },
  repositories: GitHubRepositoryRef[] | null,
): Promise<string> {
  const accountId = await accountForGitHubOwner(tx, installation.account);
  await tx.query(
    `INSERT INTO github_installations (id, account_id, owner_login, owner_id, owner_type, repository_selection)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET account_id = EXCLUDED.account_id, owner_login = EXCLUDED.owner_login,
       repository_selection = COALESCE(EXCLUDED.repository_selection, github_installations.repository_selection),
       deleted_at = NULL, updated_at = now()`,
    [
      installation.id,
      accountId,
      installation.account.login,
      installation.account.id,
      installation.account.type,
      installation.repository_selection ?? null,
    ],
  );
  if (repositories) await addRepositories(tx, installation.id, repositories);
  return accountId;
}

export async function markInstallationDeleted(tx: Queryable, installationId: number): Promise<void> {
  await tx.query('UPDATE github_installations SET deleted_at = now(), updated_at = now() WHERE id = $1', [installationId]);
  await tx.query('UPDATE github_repositories SET removed_at = now() WHERE installation_id = $1 AND removed_at IS NULL', [installationId]);
}

export async function setInstallationSuspended(tx: Queryable, installationId: number, suspended: boolean): Promise<void> {
  await tx.query(
    `UPDATE github_installations SET suspended_at = CASE WHEN $2 THEN COALESCE(suspended_at, now()) END, updated_at = now() WHERE id = $1`,
    [installationId, suspended],
  );
}

async function addRepositories(tx: Queryable, installationId: number, repositories: GitHubRepositoryRef[]): Promise<void> {
  if (repositories.length === 0) return;
  await tx.query(
    `INSERT INTO github_repositories (id, installation_id, full_name, private)
     SELECT r.id, $1, r.full_name, r.private FROM json_to_recordset($2::json) AS r(id bigint, full_name text, private boolean)
     ON CONFLICT (id) DO UPDATE SET installation_id = EXCLUDED.installation_id, full_name = EXCLUDED.full_name,
       private = EXCLUDED.private, removed_at = NULL`,
    [installationId, JSON.stringify(repositories.map((r) => ({ id: r.id, full_name: r.full_name, private: r.private })))],
  );
}

export async function removeRepositories(tx: Queryable, installationId: number, repositoryIds: number[]): Promise<void> {
  if (repositoryIds.length === 0) return;
  await tx.query(
    `UPDATE github_repositories SET removed_at = now() WHERE installation_id = $1 AND id = ANY($2::bigint[]) AND removed_at IS NULL`,
    [installationId, repositoryIds],
  );
}

/** The active installation of `accountId` that covers the repository `owner/name`, if any. */
export async function findCoveredRepository(db: Queryable, fullName: string, accountId: string): Promise<CoveredRepository | null> {
  const { rows } = await db.query<{ installation_id: string; id: string; account_id: string; full_name: string; private: boolean }>(
    `SELECT r.installation_id, r.id, i.account_id, r.full_name, r.private
       FROM github_repositories r JOIN github_installations i ON i.id = r.installation_id
      WHERE lower(r.full_name) = lower($1) AND r.removed_at IS NULL
        AND i.deleted_at IS NULL AND i.suspended_at IS NULL AND i.account_id = $2
      LIMIT 1`,
    [fullName, accountId],
  );
  const row = rows[0];
  return row
    ? {
        installationId: Number(row.installation_id),
        repositoryId: Number(row.id),
        accountId: row.account_id,
        fullName: row.full_name,
        private: row.private,
      }
    : null;
}

/**
 * The account of the installation an event came through, with the installation and repository
 * recorded if Kodah missed their events (installed before this database, a lost delivery); null
 * for an installation that was deleted or suspended.
 */
export async function coveringAccount(
  db: Database,
  installationId: number,
  repository: GitHubRepositoryRef & { owner: GitHubOwner },
): Promise<string | null> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ account_id: string; inactive: boolean }>(
      'SELECT account_id, (deleted_at IS NOT NULL OR suspended_at IS NOT NULL) AS inactive FROM github_installations WHERE id = $1',
      [installationId],
    );
    if (rows[0]?.inactive) return null;
    // For a repository's events the installation's account is the repository's owner.
    const accountId = rows[0]?.account_id ?? (await recordInstallation(tx, { id: installationId, account: repository.owner }, null));
    await addRepositories(tx, installationId, [repository]);
    return accountId;
  });
}
