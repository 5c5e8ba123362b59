import { Bm25, termCounts } from '../code/bm25.js';
import { tokenize } from '../code/tokenize.js';
import { localGit } from '../git/git-objects.js';
import type { ReportSignals } from './report-signals.js';
import { normalized, type SignalContext } from './signal-context.js';

/**
 * The commits before a commit, as the history signal reads them: the words of each message, and
 * the files it changed.
 */
export interface CommitHistory {
  messages: Bm25;
  /** Per commit, as the messages are added: its sha and the files it changed. */
  shas: string[];
  files: string[][];
}

/** A past commit whose message reads like the report, and how much. */
export interface SimilarCommit {
  sha: string;
  score: number;
  files: string[];
}

/** The newest commits read: enough for years of a busy project, read in about a second. */
const HISTORY_COMMITS = 20_000;
/** A commit that changed more files than this is a sweep (a rename, a reformat): it says nothing about where a bug lives. */
const MAX_FILES_CHANGED = 40;
/** The past commits most like the report that vote for files. */
const SIMILAR_COMMITS = 30;
const COMMIT_START = '\u001e';
const FILES_START = '\u001f';

/**
 * The history of `commit` (itself and its ancestors, newest first): the message and the changed
 * paths of each commit that is not a merge. Only what came before the report's commit is read, so
 * the fix itself is never part of it.
 */
export async function readCommitHistory(gitDir: string, commit: string): Promise<CommitHistory> {
  const out = await localGit(gitDir, [
    'log',
    '--no-merges',
    '--no-renames',
    `-n${HISTORY_COMMITS}`,
    '--name-only',
    `--format=${COMMIT_START}%H%n%s%n%b${FILES_START}`,
    '--end-of-options',
    commit,
  ]);
  const messages = new Bm25();
  const shas: string[] = [];
  const files: string[][] = [];
  for (const entry of out.split(COMMIT_START)) {
    const split = entry.indexOf(FILES_START);
    if (split < 0) continue;
    const changed = entry
      .slice(split + 1)
      .split('\n')
      .filter(Boolean);
    if (changed.length === 0 || changed.length > MAX_FILES_CHANGED) continue;
    const sha = entry.slice(0, entry.indexOf('\n'));
    const tokens = tokenize(entry.slice(sha.length, split));
    if (tokens.length === 0) continue;
    messages.add(termCounts(tokens), tokens.length);
    shas.push(sha);
    files.push(changed);
  }
  return { messages, shas, files };
}

/** A history with no commits: no file gains from it. */
export function noHistory(): CommitHistory {
  return { messages: new Bm25(), shas: [], files: [] };
}

/** The past commits whose messages read most like the report, most similar first. */
export function similarCommits(report: ReportSignals, history: CommitHistory): SimilarCommit[] {
  const scores = history.messages.score(report.query);
  return Array.from(scores.keys())
    .filter((c) => scores[c]! > 0)
    .sort((a, b) => scores[b]! - scores[a]!)
    .slice(0, SIMILAR_COMMITS)
    .map((c) => ({ sha: history.shas[c]!, score: scores[c]!, files: history.files[c]! }));
}

/**
 * How often the past commits whose messages read most like the report changed each file, 0–1 per
 * file: a project's earlier fixes of the same feature point at where it lives, in words the code
 * itself may not use ("nitpick", "default values", "VLA"). Each similar commit votes by its
 * similarity, split over the files it changed.
 */
export function historySignals({ tree, reasons }: SignalContext, similar: SimilarCommit[]): number[] {
  const at = new Map(tree.map((f, i) => [f.path, i]));
  const votes = new Float64Array(tree.length);
  for (const c of similar) {
    for (const path of c.files) {
      const i = at.get(path);
      if (i !== undefined) votes[i]! += c.score / Math.sqrt(c.files.length);
    }
  }
  const signal = normalized(votes);
  signal.forEach((v, i) => {
    if (v > 0.5) reasons[i]!.push('changed by earlier commits about the same thing');
  });
  return signal;
}
