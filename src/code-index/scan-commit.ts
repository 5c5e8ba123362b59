import type { Queryable } from '../db/database.js';
import { KodahError } from '../lib/errors.js';
import { fileHistory, mergeHistory, type PathHistory } from './file-history.js';
import { listTree, localGit, type TreeFile } from './git-objects.js';
import { extensionOf } from './mime-type.js';

const BATCH = 2000;

async function isAncestor(gitDir: string, older: string, newer: string): Promise<boolean> {
  return localGit(gitDir, ['merge-base', '--is-ancestor', older, newer]).then(() => true, () => false);
}

/**
 * Lists the commit's files into code_files with each path's authors and dates. After an earlier
 * indexed commit of the same line of history, only the commits in between are walked and the
 * rest is carried over, so a later commit costs what changed.
 */
export async function scanCommit(
  db: Queryable,
  options: { repositoryId: string; gitDir: string; commit: string; previous: string | null; maxFiles: number; signal?: AbortSignal },
): Promise<TreeFile[]> {
  const { repositoryId, gitDir, commit, previous } = options;
  const tree = await listTree(gitDir, commit);
  if (tree.length > options.maxFiles) {
    throw new KodahError('invalid_input', `The repository has ${tree.length} files at ${commit.slice(0, 12)}, more than the limit of ${options.maxFiles}`, { kind: 'input' });
  }
  let history: (path: string) => PathHistory;
  if (previous && previous !== commit && (await isAncestor(gitDir, previous, commit))) {
    const since = await fileHistory(gitDir, `${previous}..${commit}`, options.signal);
    const earlier = new Map(
      (await db.query<{ path: string; authors: string[]; first_date: Date | null; last_date: Date | null }>(
        'SELECT path, authors, first_date, last_date FROM code_files WHERE repository_id = $1 AND commit_sha = $2',
        [repositoryId, previous],
      )).rows.map((r) => [r.path, { authors: r.authors, firstDate: r.first_date?.toISOString() ?? null, lastDate: r.last_date?.toISOString() ?? null }]),
    );
    history = (path) => mergeHistory(earlier.get(path), since.get(path));
  } else {
    const all = await fileHistory(gitDir, commit, options.signal);
    history = (path) => mergeHistory(undefined, all.get(path));
  }

  for (let i = 0; i < tree.length; i += BATCH) {
    const files = tree.slice(i, i + BATCH);
    const histories = files.map((f) => history(f.path));
    await db.query(
      `INSERT INTO code_files (repository_id, commit_sha, path, blob_sha, size, extension, authors, first_date, last_date)
       SELECT $1, $2, path, sha, size, ext, CASE WHEN authors = '' THEN '{}'::text[] ELSE string_to_array(authors, E'\\x1f') END, first, last
         FROM unnest($3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[])
              AS f(path, sha, size, ext, authors, first, last)
       ON CONFLICT DO NOTHING`,
      [
        repositoryId,
        commit,
        files.map((f) => f.path),
        files.map((f) => f.sha),
        files.map((f) => f.size),
        files.map((f) => extensionOf(f.path)),
        histories.map((h) => h.authors.join('\x1f')),
        histories.map((h) => h.firstDate),
        histories.map((h) => h.lastDate),
      ],
    );
  }
  return tree;
}
