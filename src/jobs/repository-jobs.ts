import type { Queryable } from '../db/database.js';

/** An account's jobs on one repository: how many, and the newest. */
export interface RepositoryJobs {
  repoUrl: string;
  count: number;
  latestId: string;
  latestState: string;
}

/** The account's jobs grouped by repository URL (as stored: the checked URL of each submission). */
export async function jobsByRepository(db: Queryable, accountId: string): Promise<RepositoryJobs[]> {
  const { rows } = await db.query<{ repo_url: string; n: number; id: string; state: string }>(
    `SELECT DISTINCT ON (repo_url) repo_url, id, state, count(*) OVER (PARTITION BY repo_url)::int AS n
       FROM jobs WHERE account_id = $1 ORDER BY repo_url, created_at DESC, id DESC`,
    [accountId],
  );
  return rows.map((r) => ({ repoUrl: r.repo_url, count: r.n, latestId: r.id, latestState: r.state }));
}
