import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { PgBoss } from 'pg-boss';
import type { Database } from '../db/database.js';
import type { RepositoryProbe } from '../git/repository-probe.js';
import { KodahError } from '../lib/errors.js';
import type { CodeSearch } from './code-search.js';
import { cancelIndexTasks, enqueueIndex } from './index-queue.js';
import { deleteRepository, getRepository, type RepositoryRow, sanitizeRemoteUri, upsertRepository } from './repositories.js';

/** What adding, syncing and removing repositories touches. */
export interface CodeIndexDeps {
  db: Database;
  boss: PgBoss;
  probe: RepositoryProbe;
  search: CodeSearch;
  maxRepositories: number;
}

/**
 * Checks a remote the account asked to index: the URL policy, then a cheap ls-remote. A refused
 * URL or a missing repository is the caller's to fix, a 422 that says which; a host that could
 * not be reached stays `repository_unavailable` (503), to retry later.
 */
async function checkRemote(probe: RepositoryProbe, uri: string, accountId: string, field: string): Promise<string> {
  try {
    return (await probe.probe(uri, { accountId, fresh: true })).target.url;
  } catch (err) {
    if (!(err instanceof KodahError)) throw err;
    const reason = err.message.replace(/^repo_url: /, '');
    if (err.code === 'invalid_input') throw new KodahError('invalid_input', `${field}: ${reason}`, { kind: 'input' });
    if (err.code === 'not_found')
      throw new KodahError('invalid_input', `${field}: no repository at ${uri} (or it is private and no credentials reach it)`, {
        kind: 'input',
      });
    // A host we cannot reach is not the caller's to fix: the same 503 (with Retry-After) as POST /jobs.
    throw err;
  }
}

/** Deletes a repository everywhere this process can: rows, queued runs, the search cache, the mirror. */
export async function removeRepository(deps: CodeIndexDeps, accountId: string, id: string, noun = 'Repository'): Promise<void> {
  const repository = await getRepository(deps.db, accountId, id, noun);
  await cancelIndexTasks(deps.boss, repository.id);
  const { mirrorShared } = await deps.db.transaction((tx) => deleteRepository(tx, accountId, repository.id));
  deps.search.forget(repository.id);
  if (!mirrorShared && repository.cloned_path && existsSync(repository.cloned_path)) {
    await rm(repository.cloned_path, { recursive: true, force: true });
  }
}

/**
 * Adds the account's repository for a remote (or finds the one it has) and queues an index run,
 * in one transaction: the repository exists exactly when its run is queued. `field` names the
 * request field in errors.
 */
export async function addRepository(
  deps: CodeIndexDeps,
  accountId: string,
  rawUri: string,
  field: string,
): Promise<{ repository: RepositoryRow; created: boolean }> {
  const uri = await checkRemote(deps.probe, rawUri, accountId, field);
  return deps.db.transaction(async (tx) => {
    // The account row is the lock: two requests at once cannot both take the last place.
    await tx.query('SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE', [accountId]);
    const { rows } = await tx.query<{ n: number; known: boolean }>(
      'SELECT count(*)::int AS n, bool_or(sanitized_remote_uri = $2) AS known FROM code_repositories WHERE account_id = $1',
      [accountId, sanitizeRemoteUri(uri)],
    );
    if (!rows[0]!.known && rows[0]!.n >= deps.maxRepositories) {
      throw new KodahError('invalid_input', `${field}: this account already has ${rows[0]!.n} repositories, the limit; delete one first`, {
        kind: 'input',
      });
    }
    const result = await upsertRepository(tx, accountId, uri);
    await enqueueIndex(deps.boss, result.repository, tx);
    return result;
  });
}
