import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { GitCredentials } from '../git/credentials.js';
import { ensureMirror } from '../git/mirror-cache.js';
import { KodahError, toKodahError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Embedder } from './embeddings.js';
import { embedMissing } from './embed-snippets.js';
import { extractBlobs } from './extract-blobs.js';
import { StepRecorder } from './index-steps.js';
import { mapRepository } from './map-repository.js';
import { findRepository } from './repositories.js';
import { scanCommit } from './scan-commit.js';
import type { SnippetPool } from './snippet-pool.js';

export interface IndexDeps {
  db: Database;
  config: Config;
  credentials: GitCredentials;
  pool: SnippetPool;
  embedder: Embedder | null;
  log: Logger;
}

/** A foreign key violation: the repository was deleted while its index ran. */
function isDeleted(err: unknown): boolean {
  return (err as { code?: string }).code === '23503';
}

/**
 * One index run of a repository: clone (or fetch) its mirror, map branches, tags and commits,
 * scan the default branch's head, cut the blobs never seen into snippets, and make that commit
 * the searchable one. Each step's state is recorded for the status endpoint. Safe to run again
 * after a crash at any point: every write is an upsert and the searchable commit moves last.
 * Throws only what is worth a retry; the caller's mistakes end the run as failed.
 */
export async function indexRepository(deps: IndexDeps, repositoryId: string, signal?: AbortSignal): Promise<void> {
  const { db, config, log } = deps;
  const repository = await findRepository(db, repositoryId);
  if (!repository) return;
  const steps = new StepRecorder(db, repositoryId);
  await steps.reset();
  const runLog = log.child({ repositoryId, remote: repository.remote_uri });
  try {
    await steps.start('clone');
    const token = await deps.credentials.tokenFor(repository.remote_uri, repository.account_id);
    const gitDir = await ensureMirror(repository.remote_uri, {
      policy: { allowedHosts: config.git.allowedHosts, allowLocal: config.git.allowLocal },
      cacheDir: config.index.mirrorDir,
      token,
      timeoutMs: config.index.timeoutS * 1000,
      maxBytes: config.index.maxRepoBytes,
      signal,
    });
    await db.query('UPDATE code_repositories SET cloned_path = $2, updated_at = now() WHERE id = $1', [repositoryId, gitDir]);
    await steps.complete('clone');

    await steps.start('map');
    const mapped = await mapRepository(db, repositoryId, gitDir, signal);
    await db.query('UPDATE code_repositories SET default_branch = $2, updated_at = now() WHERE id = $1', [repositoryId, mapped.defaultBranch]);
    await steps.complete('map', `${mapped.newCommits} new commits; ${mapped.defaultBranch} at ${mapped.head.slice(0, 12)}`);
    if (mapped.head === repository.indexed_commit) {
      for (const step of ['scan', 'extract_snippets', 'build_search_index'] as const) await steps.skip(step, `${mapped.head.slice(0, 12)} is already indexed`);
      return;
    }

    await steps.start('scan');
    const tree = await scanCommit(db, {
      repositoryId,
      gitDir,
      commit: mapped.head,
      previous: repository.indexed_commit,
      maxFiles: config.index.maxFiles,
      signal,
    });
    await steps.complete('scan', `${tree.length} files`);

    await steps.start('extract_snippets');
    const extracted = await extractBlobs(db, deps.pool, tree, {
      gitDir,
      maxFileBytes: config.index.maxFileBytes,
      parallel: Math.max(2, config.index.threads || 2),
      onProgress: (done, total) => steps.progress('extract_snippets', done, total),
      signal,
    });
    await steps.complete('extract_snippets', `${extracted.newBlobs} new blobs, ${extracted.snippets} snippets`);

    await steps.start('build_search_index');
    if (deps.embedder) {
      await embedMissing(db, deps.embedder, repositoryId, mapped.head, (done, total) => steps.progress('build_search_index', done, total), signal);
    }
    // Last: the new commit becomes the searchable one only when all it needs is stored.
    await db.query('UPDATE code_repositories SET indexed_commit = $2, updated_at = now() WHERE id = $1', [repositoryId, mapped.head]);
    await steps.complete('build_search_index', deps.embedder ? `BM25 and ${deps.embedder.model} vectors` : 'BM25');
    runLog.info({ commit: mapped.head, files: tree.length, ...extracted }, 'repository indexed');
  } catch (err) {
    if (isDeleted(err) || !(await findRepository(db, repositoryId))) {
      runLog.info('repository deleted while indexing');
      return;
    }
    const error = toKodahError(err);
    const retry = error.retryable && !signal?.aborted;
    await steps.fail(retry ? `${error.message} (will retry)` : error.message).catch(() => {});
    runLog.warn({ err: error }, 'index run failed');
    if (retry) throw error;
    if (signal?.aborted && error.kind === 'system') throw new KodahError('timeout', 'Index run stopped', { retryable: true });
  }
}
