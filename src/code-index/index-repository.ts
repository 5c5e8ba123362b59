import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { GitCredentials } from '../git/credentials.js';
import { ensureMirror } from '../git/mirror-cache.js';
import { KodahError, toKodahError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Embedder } from './embeddings.js';
import { type Summarizer, summarizeMissing } from './summarize-snippets.js';
import { embedMissing } from './embed-snippets.js';
import { extractBlobs } from './extract-blobs.js';
import { StepRecorder } from './index-steps.js';
import { mapRepository, readRefs } from './map-repository.js';
import { findRepository, type RepositoryRow } from './repositories.js';
import { scanCommit } from './scan-commit.js';
import { pruneSegments, storeSegment } from './segment-store.js';
import type { SnippetPool } from './snippet-pool.js';

export interface IndexDeps {
  db: Database;
  config: Config;
  credentials: GitCredentials;
  pool: SnippetPool;
  embedder: Embedder | null;
  /** Writes snippet summaries; null when no summary model is configured (the step is skipped). */
  summarizer: Summarizer | null;
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
export async function indexRepository(deps: IndexDeps, repositoryId: string, signal?: AbortSignal): Promise<IndexedCommit | null> {
  const { db, config, log } = deps;
  const repository = await findRepository(db, repositoryId);
  if (!repository) return null;
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

    return await indexMirror(deps, repository, gitDir, steps, { signal });
  } catch (err) {
    if (isDeleted(err) || !(await findRepository(db, repositoryId))) {
      // Blobs this run stored after the delete removed the files that named them belong to no one.
      await db.query('DELETE FROM code_blobs b WHERE NOT EXISTS (SELECT 1 FROM code_files f WHERE f.blob_sha = b.sha)');
      runLog.info('repository deleted while indexing');
      return null;
    }
    const error = toKodahError(err);
    const retry = error.retryable && !signal?.aborted;
    await steps.fail(retry ? `${error.message} (will retry)` : error.message).catch(() => {});
    runLog.warn({ err: error }, 'index run failed');
    if (retry) throw error;
    if (signal?.aborted && error.kind === 'system') throw new KodahError('timeout', 'Index run stopped', { retryable: true });
    return null;
  }
}

export interface IndexedCommit {
  commit: string;
  files: number;
  newBlobs: number;
  snippets: number;
}

/**
 * The steps after the clone, on a mirror already on disk: map, scan the commit (the default
 * branch's head unless one is given), cut new blobs, and make the commit the searchable one.
 */
export async function indexMirror(
  deps: IndexDeps,
  repository: Pick<RepositoryRow, 'id' | 'indexed_commit'>,
  gitDir: string,
  steps: StepRecorder,
  options: { commit?: string; signal?: AbortSignal } = {},
): Promise<IndexedCommit | null> {
  const { db } = deps;
  const { signal } = options;
  const repositoryId = repository.id;
  await steps.start('map');
  const refs = await readRefs(gitDir, signal);
  await db.query('UPDATE code_repositories SET default_branch = $2, updated_at = now() WHERE id = $1', [repositoryId, refs.defaultBranch]);
  const commit = options.commit ?? refs.head;
  // Mapping the history runs beside scanning and cutting: git walks while the CPU parses.
  const mapping = mapRepository(db, repositoryId, gitDir, refs, signal).then((n) =>
    steps.complete('map', `${n} new commits; ${refs.defaultBranch} at ${refs.head.slice(0, 12)}`),
  );
  try {
    if (commit === repository.indexed_commit) {
      await mapping;
      for (const step of ['scan', 'extract_snippets', 'summarize', 'build_search_index'] as const)
        await steps.skip(step, `${commit.slice(0, 12)} is already indexed`);
      return null;
    }
    return await scanAndCut(deps, repositoryId, repository.indexed_commit, gitDir, commit, steps, mapping, signal);
  } finally {
    await mapping.catch(() => {});
  }
}

async function scanAndCut(
  deps: IndexDeps,
  repositoryId: string,
  previous: string | null,
  gitDir: string,
  commit: string,
  steps: StepRecorder,
  mapping: Promise<void>,
  signal?: AbortSignal,
): Promise<IndexedCommit> {
  const { db, config } = deps;
  await steps.start('scan');
  const { tree, indexed } = await scanCommit(db, { repositoryId, gitDir, commit, previous, maxFiles: config.index.maxFiles, signal });
  const left = tree.length - indexed.length;
  await steps.complete('scan', `${tree.length} files${left ? `, ${left} excluded by .gitignore or .noindex` : ''}`);

  await steps.start('extract_snippets');
  const extracted = await extractBlobs(db, deps.pool, indexed, {
    gitDir,
    maxFileBytes: config.index.maxFileBytes,
    // One chunk more than threads: every thread parses while the main thread stores.
    parallel: deps.pool.threads + 1,
    onProgress: (done, total) => steps.progress('extract_snippets', done, total),
    signal,
  });
  await steps.complete('extract_snippets', `${extracted.newBlobs} new blobs, ${extracted.snippets} snippets`);

  if (deps.summarizer && config.summaries) {
    await steps.start('summarize');
    const run = await summarizeMissing(
      db,
      deps.summarizer,
      { repositoryId, commit, maxTokens: config.summaries.maxTokensPerRun },
      (done, total) => steps.progress('summarize', done, total),
      signal,
    );
    const left = run.left ? `; ${run.left} left for the next run (token budget or unusable answers)` : '';
    await steps.complete('summarize', `${run.summarized} summarized, ${run.cached} from the cache, ${run.tokens} tokens${left}`);
  } else {
    await steps.skip('summarize', 'no summary model configured (KODAH_SUMMARY_MODEL)');
  }

  await mapping;
  await steps.start('build_search_index');
  if (deps.embedder) {
    await embedMissing(db, deps.embedder, repositoryId, commit, (done, total) => steps.progress('build_search_index', done, total), signal);
  }
  // The segment's stored form, so no process rebuilds it from the rows on its first search.
  await storeSegment(db, repositoryId, commit, deps.summarizer?.model ?? null);
  // Last: the new commit becomes the searchable one only when all it needs is stored.
  await db.query('UPDATE code_repositories SET indexed_commit = $2, updated_at = now() WHERE id = $1', [repositoryId, commit]);
  await pruneSegments(db, repositoryId, commit);
  await steps.complete('build_search_index', deps.embedder ? `BM25 and ${deps.embedder.model} vectors` : 'BM25');
  deps.log.info({ repositoryId, commit, files: tree.length, ...extracted }, 'repository indexed');
  return { commit, files: tree.length, ...extracted };
}
