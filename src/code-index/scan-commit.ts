import type { Queryable } from '../db/database.js';
import { insertRows } from '../db/insert-rows.js';
import { KodahError } from '../lib/errors.js';
import { fileHistory, mergeHistory, type PathHistory } from './file-history.js';
import { listTree, localGit, type TreeFile } from '../git/git-objects.js';
import { excludedPaths } from './index-exclusions.js';
import { extensionOf } from './mime-type.js';

const BATCH = 2000;

async function isAncestor(gitDir: string, older: string, newer: string): Promise<boolean> {
  return localGit(gitDir, ['merge-base', '--is-ancestor', older, newer]).then(
    () => true,
    () => false,
  );
}

export interface ScannedCommit {
  /** Every file of the commit. */
  tree: TreeFile[];
  /** The files to cut and search: the tree less what its .gitignore and .noindex files exclude. */
  indexed: TreeFile[];
}

/**
 * Lists the commit's files into code_files with each path's authors and dates. After an earlier
 * indexed commit of the same line of history, only the commits in between are walked and the
 * rest is carried over, so a later commit costs what changed.
 */
export async function scanCommit(
  db: Queryable,
  options: { repositoryId: string; gitDir: string; commit: string; previous: string | null; maxFiles: number; signal?: AbortSignal },
): Promise<ScannedCommit> {
  const { repositoryId, gitDir, commit, previous } = options;
  const tree = await listTree(gitDir, commit);
  if (tree.length > options.maxFiles) {
    throw new KodahError(
      'invalid_input',
      `The repository has ${tree.length} files at ${commit.slice(0, 12)}, more than the limit of ${options.maxFiles}`,
      { kind: 'input' },
    );
  }
  const excluded = await excludedPaths(gitDir, tree);
  let history: (path: string) => PathHistory;
  if (previous && previous !== commit && (await isAncestor(gitDir, previous, commit))) {
    const since = await fileHistory(gitDir, `${previous}..${commit}`, options.signal);
    const earlier = new Map(
      (
        await db.query<{ path: string; authors: string[]; first_date: Date | null; last_date: Date | null }>(
          'SELECT path, authors, first_date, last_date FROM code_files WHERE repository_id = $1 AND commit_sha = $2',
          [repositoryId, previous],
        )
      ).rows.map((r) => [
        r.path,
        { authors: r.authors, firstDate: r.first_date?.toISOString() ?? null, lastDate: r.last_date?.toISOString() ?? null },
      ]),
    );
    history = (path) => mergeHistory(earlier.get(path), since.get(path));
  } else {
    const all = await fileHistory(gitDir, commit, options.signal);
    history = (path) => mergeHistory(undefined, all.get(path));
  }

  for (let i = 0; i < tree.length; i += BATCH) {
    await insertRows(
      db,
      'code_files',
      {
        path: 'text',
        blob_sha: 'text',
        size: 'int',
        extension: 'text',
        authors: 'text[]',
        first_date: 'timestamptz',
        last_date: 'timestamptz',
        indexed: 'bool',
      },
      tree.slice(i, i + BATCH).map((f) => {
        const h = history(f.path);
        return {
          path: f.path,
          blob_sha: f.sha,
          size: f.size,
          extension: extensionOf(f.path),
          authors: h.authors,
          first_date: h.firstDate,
          last_date: h.lastDate,
          indexed: !excluded.has(f.path),
        };
      }),
      { repository_id: ['bigint', repositoryId], commit_sha: ['text', commit] },
    );
  }
  return { tree, indexed: excluded.size ? tree.filter((f) => !excluded.has(f.path)) : tree };
}
