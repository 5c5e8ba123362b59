import { localGit } from '../git/git-objects.js';
import { epochToIso } from './map-repository.js';

/** What the history says of one path: who changed it (most often first) and when. */
export interface PathHistory {
  authors: string[];
  firstDate: string | null;
  lastDate: string | null;
}

const MAX_AUTHORS = 10;

/**
 * Authors and first/last change dates of every path touched in `range` (a commit, or
 * "old..new" for what a later commit added), from one `git log --name-only` walk. Whole-file
 * attribution: what a user filters on ("code alice touched since May") without a blame per file.
 */
export async function fileHistory(gitDir: string, range: string, signal?: AbortSignal): Promise<Map<string, PathHistory>> {
  const log = await localGit(gitDir, ['log', '--no-merges', '--no-renames', '--name-only', '--format=%x00%an%x1f%at', range, '--'], {
    signal,
    timeoutMs: 300_000,
  });
  const seen = new Map<string, { counts: Map<string, number>; first: string; last: string }>();
  for (const record of log.split('\0')) {
    const newline = record.indexOf('\n');
    if (newline < 0) continue;
    const [author, seconds] = record.slice(0, newline).split('\x1f') as [string, string];
    const date = epochToIso(seconds);
    for (const path of record.slice(newline + 1).split('\n')) {
      if (!path) continue;
      let entry = seen.get(path);
      // Newest first: the first sight of a path is its last change.
      if (!entry) seen.set(path, (entry = { counts: new Map(), first: date, last: date }));
      entry.first = date;
      entry.counts.set(author, (entry.counts.get(author) ?? 0) + 1);
    }
  }
  const out = new Map<string, PathHistory>();
  for (const [path, entry] of seen) {
    const authors = [...entry.counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([a]) => a);
    out.set(path, { authors: authors.slice(0, MAX_AUTHORS), firstDate: entry.first, lastDate: entry.last });
  }
  return out;
}

/** A path's history carried over from an earlier commit, with what came since laid on top. */
export function mergeHistory(earlier: PathHistory | undefined, since: PathHistory | undefined): PathHistory {
  if (!since) return earlier ?? { authors: [], firstDate: null, lastDate: null };
  if (!earlier) return since;
  return {
    authors: [...new Set([...since.authors, ...earlier.authors])].slice(0, MAX_AUTHORS),
    firstDate: earlier.firstDate ?? since.firstDate,
    lastDate: since.lastDate ?? earlier.lastDate,
  };
}
