import type { Queryable } from '../db/database.js';
import { KodahError } from '../lib/errors.js';
import { localGit } from './git-objects.js';

export interface MappedRepository {
  defaultBranch: string;
  /** The default branch's head: the commit an index run scans. */
  head: string;
  newCommits: number;
}

const FIELD = '\x1f';
const RECORD = '\x1e';
const BATCH = 2000;
/** Counting commits is one walk per branch; beyond this many branches the count is left at 0. */
const COUNTED_BRANCHES = 100;

function refs(output: string): string[][] {
  return output.split('\n').filter(Boolean).map((line) => line.split(FIELD));
}

/**
 * Maps a mirror's branches, tags and commits into the database. Only commits not reachable from
 * the branch heads mapped last time are read, so a later run costs what changed.
 */
export async function mapRepository(db: Queryable, repositoryId: string, gitDir: string, signal?: AbortSignal): Promise<MappedRepository> {
  const git = (args: string[]) => localGit(gitDir, args, { signal });
  const branches = refs(await git(['for-each-ref', 'refs/heads', `--format=%(refname:strip=2)${FIELD}%(objectname)`]));
  if (branches.length === 0) throw new KodahError('invalid_input', 'The repository has no branches', { kind: 'input' });
  const symbolic = await git(['symbolic-ref', '--quiet', '--short', 'HEAD']).then((s) => s.trim(), () => '');
  const defaultBranch = branches.some(([name]) => name === symbolic) ? symbolic : branches[0]![0]!;
  const head = branches.find(([name]) => name === defaultBranch)![1]!;
  const tags = refs(await git(['for-each-ref', 'refs/tags', `--format=%(refname:strip=2)${FIELD}%(objectname)${FIELD}%(*objectname)`]));

  const known = (await db.query<{ head_sha: string }>('SELECT head_sha FROM code_branches WHERE repository_id = $1', [repositoryId])).rows.map((r) => r.head_sha);
  const format = `--format=%H${FIELD}%P${FIELD}%an${FIELD}%aI${FIELD}%B${RECORD}`;
  const log = await git(['log', '--branches', format, ...(known.length ? ['--not', ...known] : [])]).catch(() =>
    // A head mapped last time may be gone (a force push followed by gc): map everything again.
    git(['log', '--branches', format]),
  );
  let newCommits = 0;
  const records = log.split(RECORD);
  for (let i = 0; i < records.length; i += BATCH) {
    const rows = records.slice(i, i + BATCH).map((r) => r.replace(/^\n/, '').split(FIELD)).filter((f) => f.length >= 5);
    if (rows.length === 0) continue;
    await db.query(
      `INSERT INTO code_commits (repository_id, sha, parent_sha, author, date, message)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
       ON CONFLICT DO NOTHING`,
      [
        repositoryId,
        rows.map((f) => f[0]),
        rows.map((f) => f[1]!.split(' ')[0] || null),
        rows.map((f) => f[2]),
        rows.map((f) => f[3]),
        rows.map((f) => f.slice(4).join(FIELD).trim().slice(0, 8192)),
      ],
    );
    newCommits += rows.length;
  }

  const counts: number[] = [];
  for (const [i, [, sha]] of branches.entries()) {
    counts.push(i < COUNTED_BRANCHES ? Number((await git(['rev-list', '--count', sha!])).trim()) : 0);
  }
  await db.query('DELETE FROM code_branches WHERE repository_id = $1', [repositoryId]);
  await db.query(
    `INSERT INTO code_branches (repository_id, name, head_sha, is_default, commit_count)
     SELECT $1, name, sha, name = $4, n FROM unnest($2::text[], $3::text[], $5::int[]) AS b(name, sha, n)`,
    [repositoryId, branches.map((b) => b[0]), branches.map((b) => b[1]), defaultBranch, counts],
  );
  await db.query('DELETE FROM code_tags WHERE repository_id = $1', [repositoryId]);
  await db.query(
    `INSERT INTO code_tags (repository_id, name, target_sha) SELECT $1, * FROM unnest($2::text[], $3::text[])`,
    [repositoryId, tags.map((t) => t[0]), tags.map((t) => t[2] || t[1])],
  );
  return { defaultBranch, head, newCommits };
}
