import type { Database } from '../db/database.js';
import { insertRows } from '../db/insert-rows.js';
import { KodahError } from '../lib/errors.js';
import { localGit } from '../git/git-objects.js';

export interface RepositoryRefs {
  defaultBranch: string;
  /** The default branch's head: the commit an index run scans unless told otherwise. */
  head: string;
  branches: string[][];
  tags: string[][];
}

const FIELD = '\x1f';
const RECORD = '\x1e';
const BATCH = 2000;
/** Counting commits is one walk per branch; beyond this many branches the count is left at 0. */
const COUNTED_BRANCHES = 100;

export function epochToIso(seconds: string): string {
  const ms = Number(seconds) * 1000;
  return new Date(Number.isFinite(ms) ? ms : 0).toISOString();
}

function refs(output: string): string[][] {
  return output
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(FIELD));
}

/**
 * Commits on each branch. A branch that only moved forward adds the commits since its old head
 * to its old count (a short walk); a new or rewritten branch is counted whole.
 */
async function countCommits(
  git: (args: string[]) => Promise<string>,
  branches: string[][],
  before: Map<string, { head_sha: string; commit_count: number }>,
): Promise<number[]> {
  const count = async ([name, sha]: string[], i: number): Promise<number> => {
    if (i >= COUNTED_BRANCHES) return 0;
    const old = before.get(name!);
    if (old && old.head_sha === sha) return old.commit_count;
    if (old && old.commit_count > 0) {
      const { head_sha: oldHead, commit_count: oldCount } = old;
      const forward = await git(['merge-base', '--is-ancestor', oldHead, sha!]).then(
        () => true,
        () => false,
      );
      if (forward) return oldCount + Number((await git(['rev-list', '--count', `${oldHead}..${sha}`])).trim());
    }
    return Number((await git(['rev-list', '--count', sha!])).trim());
  };
  return Promise.all(branches.map(count));
}

/** The mirror's branches (name, head), tags (name, object, peeled commit) and default branch. */
export async function readRefs(gitDir: string, signal?: AbortSignal): Promise<RepositoryRefs> {
  const git = (args: string[]) => localGit(gitDir, args, { signal });
  const branches = refs(await git(['for-each-ref', 'refs/heads', `--format=%(refname:strip=2)${FIELD}%(objectname)`]));
  if (branches.length === 0) throw new KodahError('invalid_input', 'The repository has no branches', { kind: 'input' });
  const symbolic = await git(['symbolic-ref', '--quiet', '--short', 'HEAD']).then(
    (s) => s.trim(),
    () => '',
  );
  const defaultBranch = branches.some(([name]) => name === symbolic) ? symbolic : branches[0]![0]!;
  const head = branches.find(([name]) => name === defaultBranch)![1]!;
  const tags = refs(await git(['for-each-ref', 'refs/tags', `--format=%(refname:strip=2)${FIELD}%(objectname)${FIELD}%(*objectname)`]));
  return { defaultBranch, head, branches, tags };
}

/**
 * Maps a mirror's branches, tags and commits into the database. Only commits not reachable from
 * the branch heads mapped last time are read, so a later run costs what changed. Branch commit
 * counts are walked by git while the commits are being stored.
 */
export async function mapRepository(
  db: Database,
  repositoryId: string,
  gitDir: string,
  mirror: RepositoryRefs,
  signal?: AbortSignal,
): Promise<number> {
  const git = (args: string[]) => localGit(gitDir, args, { signal });
  // A commit-graph makes counting a branch's commits a lookup instead of a walk (0.5 s → 0.04 s on
  // 55k commits); --split adds only the new commits as a layer, so a later run pays little.
  await git(['commit-graph', 'write', '--reachable', '--split']).catch(() => {});
  const { branches, tags, defaultBranch } = mirror;
  const before = (
    await db.query<{ name: string; head_sha: string; commit_count: number }>(
      'SELECT name, head_sha, commit_count FROM code_branches WHERE repository_id = $1',
      [repositoryId],
    )
  ).rows;
  const known = before.map((r) => r.head_sha);
  const counting = countCommits(git, branches, new Map(before.map((b) => [b.name, b])));
  counting.catch(() => {});
  // Dates as epoch seconds: git keeps whatever offset a commit claims ("+518:00" exists in the wild).
  // --date-order: no parent before all its children, so the log's order is the history's.
  const format = `--format=%H${FIELD}%P${FIELD}%an${FIELD}%at${FIELD}%B${RECORD}`;
  const log = await git(['log', '--branches', '--date-order', format, ...(known.length ? ['--not', ...known] : [])]).catch(() =>
    // A head mapped last time may be gone (a force push followed by gc): map everything again.
    git(['log', '--branches', '--date-order', format]),
  );
  const records = log
    .split(RECORD)
    .map((r) => r.replace(/^\n/, '').split(FIELD))
    .filter((f) => f.length >= 5);
  // Numbered from the oldest up, above every commit mapped before: none of those descends from a
  // new one (a commit is mapped with all its ancestors), so children always outnumber parents.
  const { top } = (
    await db.query<{ top: string }>('SELECT coalesce(max(seq), 0)::text AS top FROM code_commits WHERE repository_id = $1', [repositoryId])
  ).rows[0]!;
  const base = Number(top) + records.length;
  for (let i = 0; i < records.length; i += BATCH) {
    await insertRows(
      db,
      'code_commits',
      { sha: 'text', parent_sha: 'text', author: 'text', date: 'timestamptz', message: 'text', seq: 'bigint' },
      records.slice(i, i + BATCH).map((f, j) => ({
        sha: f[0],
        parent_sha: f[1]!.split(' ')[0] || null,
        author: f[2],
        date: epochToIso(f[3]!),
        message: f.slice(4).join(FIELD).trim().slice(0, 8192),
        seq: base - (i + j),
      })),
      { repository_id: ['bigint', repositoryId] },
    );
  }

  const counts = await counting;
  await db.transaction(async (tx) => {
    await tx.query('DELETE FROM code_branches WHERE repository_id = $1', [repositoryId]);
    await insertRows(
      tx,
      'code_branches',
      { name: 'text', head_sha: 'text', is_default: 'bool', commit_count: 'int' },
      branches.map(([name, sha], i) => ({ name, head_sha: sha, is_default: name === defaultBranch, commit_count: counts[i] })),
      { repository_id: ['bigint', repositoryId] },
    );
    await tx.query('DELETE FROM code_tags WHERE repository_id = $1', [repositoryId]);
    await insertRows(
      tx,
      'code_tags',
      { name: 'text', target_sha: 'text' },
      tags.map((t) => ({ name: t[0], target_sha: t[2] || t[1] })),
      { repository_id: ['bigint', repositoryId] },
    );
  });
  return records.length;
}
