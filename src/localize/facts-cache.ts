import { listTree, readBlobs, type TreeFile } from '../git/git-objects.js';
import { type FileFacts, fileFacts } from './file-facts.js';
import { type CommitHistory, readCommitHistory } from './history-signals.js';

/** How many commits' listings are kept. */
const RECENT_COMMITS = 8;
/** How many commits' histories are kept: each is some megabytes for a large project, so fewer than listings. */
const RECENT_HISTORIES = 2;
/** How long a history git could not read is answered with that failure before it is read again. */
export const FAILED_HISTORY_MS = 60_000;

/** A commit's history being read or read, and when its read failed. */
interface HistoryEntry {
  history: Promise<CommitHistory>;
  failedAt?: number;
}

/**
 * Stores `value` under `key` as the most recently used, and drops the least recently used past
 * `limit` (a Map keeps its keys in the order they were set). Not the first stored: an agent's
 * searches use one commit's listing and history for minutes while other jobs' localizations pass
 * through, and stored-first eviction dropped the agent's history (1–2 s to read again on sympy)
 * as soon as two other commits came by.
 */
function keepRecent<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value!);
}

/**
 * What localization knows of each blob (its definitions, imports, tokens). Facts are a function
 * of the blob alone, so they survive from one commit to the next: whoever localizes many reports
 * (a worker, a benchmark) keeps one cache; it is emptied whole when it passes `maxEntries`.
 */
export class FactsCache {
  readonly #facts = new Map<string, FileFacts>();

  /** The listings of the last few commits: an agent localizes one commit once per search. */
  readonly #trees = new Map<string, Promise<TreeFile[]>>();

  /** The history before each of the last few commits: read once per commit, however often it is searched. */
  readonly #histories = new Map<string, HistoryEntry>();

  constructor(
    private readonly maxEntries = 200_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The commits up to `commit`, with their messages and changed files (history-signals.ts). A
   * read that failed is answered with its failure for FAILED_HISTORY_MS, then tried again: an
   * agent searches every few steps, and on a mirror git cannot read each try costs up to a
   * second, while a passing failure (a timeout under load) is not kept for good.
   */
  historyOf(gitDir: string, commit: string): Promise<CommitHistory> {
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) return readCommitHistory(gitDir, commit);
    const key = `${gitDir}\0${commit}`;
    const kept = this.#histories.get(key);
    if (kept && (kept.failedAt === undefined || this.now() - kept.failedAt < FAILED_HISTORY_MS)) {
      keepRecent(this.#histories, key, kept, RECENT_HISTORIES);
      return kept.history;
    }
    const entry: HistoryEntry = { history: readCommitHistory(gitDir, commit) };
    entry.history.catch(() => (entry.failedAt = this.now()));
    keepRecent(this.#histories, key, entry, RECENT_HISTORIES);
    return entry.history;
  }

  /** The files of a commit; a full sha names the same tree for ever, so its listing is kept. */
  treeOf(gitDir: string, commit: string): Promise<TreeFile[]> {
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) return listTree(gitDir, commit);
    const key = `${gitDir}\0${commit}`;
    let listing = this.#trees.get(key);
    if (!listing) {
      const read = listTree(gitDir, commit);
      // A failed listing (the commit is not fetched yet) is not kept.
      read.catch(() => this.#trees.get(key) === read && this.#trees.delete(key));
      listing = read;
    }
    keepRecent(this.#trees, key, listing, RECENT_COMMITS);
    return listing;
  }

  /** The facts of each file, reading only the blobs not seen before. */
  async factsFor(gitDir: string, files: TreeFile[]): Promise<FileFacts[]> {
    // This call's answers are kept apart from the cache, which may be emptied half-way.
    const found = new Map<string, FileFacts>();
    for (const f of files) {
      const facts = this.#facts.get(f.sha);
      if (facts) found.set(f.sha, facts);
    }
    const missing = [...new Set(files.filter((f) => !found.has(f.sha)).map((f) => f.sha))];
    if (missing.length) {
      const blobs = await readBlobs(gitDir, missing);
      if (this.#facts.size + blobs.size > this.maxEntries) this.#facts.clear();
      for (const [sha, content] of blobs) {
        const facts = fileFacts(content.includes(0) ? '' : content.toString('utf8'));
        found.set(sha, facts);
        this.#facts.set(sha, facts);
      }
    }
    return files.map((f) => found.get(f.sha)!);
  }
}
