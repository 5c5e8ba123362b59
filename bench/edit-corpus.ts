/**
 * The corpus of bench:edits: real changes from a bare repository's history, each hunk turned into
 * the SEARCH/REPLACE block a careful model would write (the old lines with one or two lines of
 * context, more only when needed to make it unique), applied in order against the evolving file.
 */
import { execFileSync } from 'node:child_process';
import { findMatches, joinLines, type Line, splitLines } from '../src/fix/match-lines.js';

/** One hunk as an edit block, with the file as it is just before and just after the block. */
export interface BenchBlock {
  search: string[];
  replace: string[];
  /** Lines of context in SEARCH before and after the changed lines (REPLACE carries the same). */
  before: number;
  after: number;
  /** First SEARCH line (0-based) in `state`. */
  start: number;
  state: string;
  expected: string;
  /** Exactly unique with less context, but only unique counting whitespace-tolerant places with this much. */
  widened: boolean;
}

export interface BenchFile {
  commit: string;
  path: string;
  pre: string;
  post: string;
  blocks: BenchBlock[];
}

export interface BenchCommit {
  commit: string;
  files: BenchFile[];
  created: Array<{ path: string; content: string }>;
}

export interface CorpusStats {
  commits: number;
  files: number;
  hunks: number;
  /** Hunks that needed more context than exact uniqueness because a whitespace-tolerant place also matched. */
  widened: number;
  skipped: Record<string, number>;
}

const MAX_CONTEXT = 8;
const MAX_BYTES = 512 * 1024;
/** Mass rewrites (a formatter run) are not what a fix looks like, and each hunk holds the file twice. */
const MAX_HUNKS = 100;

function git(gitDir: string, args: string[]): string {
  return execFileSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

interface Hunk {
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
}

/** Hunk headers per file of a zero-context diff; content lines are skipped by count, never parsed. */
function diffHunks(gitDir: string, parent: string, commit: string, pattern: string): Map<string, Hunk[]> {
  const out = git(gitDir, ['diff', '-U0', '--no-renames', '--no-color', '--no-ext-diff', '--diff-filter=M', parent, commit, '--', pattern]);
  const files = new Map<string, Hunk[]>();
  let current: Hunk[] | null = null;
  const lines = out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('diff --git ')) {
      current = null;
    } else if (line.startsWith('+++ b/') && current === null) {
      current = [];
      files.set(line.slice(6), current);
    } else if (line.startsWith('@@ ') && current) {
      const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line)!;
      const h = { oldStart: Number(m[1]), oldCount: Number(m[2] ?? 1), newStart: Number(m[3]), newCount: Number(m[4] ?? 1) };
      current.push(h);
      i += h.oldCount + h.newCount;
      while (lines[i + 1]?.startsWith('\\')) i++;
    }
  }
  return files;
}

const texts = (lines: readonly Line[]) => lines.map((l) => l.text);

function buildFile(commit: string, path: string, pre: string, post: string, hunks: Hunk[], skip: (why: string) => void): BenchFile | null {
  const postLines = splitLines(post);
  let state = splitLines(pre);
  let delta = 0;
  const blocks: BenchBlock[] = [];
  for (const h of hunks) {
    // Zero-count sides name the line *after which* lines go or went.
    const pos = (h.oldCount === 0 ? h.oldStart : h.oldStart - 1) + delta;
    const newLines = postLines.slice(h.newCount === 0 ? 0 : h.newStart - 1, h.newCount === 0 ? 0 : h.newStart - 1 + h.newCount);
    const oldText = texts(state.slice(pos, pos + h.oldCount));
    const all = texts(state);
    let chosen: { search: string[]; before: number; after: number; c: number } | null = null;
    let exactUniqueAt = -1;
    for (let c = 1; c <= MAX_CONTEXT && !chosen; c++) {
      const before = Math.min(c, pos);
      const after = Math.min(c, state.length - pos - h.oldCount);
      const search = [...all.slice(pos - before, pos), ...oldText, ...all.slice(pos + h.oldCount, pos + h.oldCount + after)];
      if (!search.some((s) => s.trim())) continue;
      const matches = findMatches(all, search);
      if (matches.incomplete) continue;
      if (exactUniqueAt < 0 && matches.filter((m) => m.kind === 'exact').length === 1) exactUniqueAt = c;
      if (matches.length === 1) chosen = { search, before, after, c };
    }
    if (!chosen) {
      skip('hunk not unique with 8 lines of context');
      return null;
    }
    const replace = [
      ...all.slice(pos - chosen.before, pos),
      ...texts(newLines),
      ...all.slice(pos + h.oldCount, pos + h.oldCount + chosen.after),
    ];
    const next = [...state.slice(0, pos), ...newLines, ...state.slice(pos + h.oldCount)];
    blocks.push({
      search: chosen.search,
      replace,
      before: chosen.before,
      after: chosen.after,
      start: pos - chosen.before,
      state: joinLines(state),
      expected: joinLines(next),
      widened: exactUniqueAt > 0 && exactUniqueAt < chosen.c,
    });
    state = next;
    delta += h.newCount - h.oldCount;
  }
  if (joinLines(state) !== post) {
    skip('hunks did not rebuild the file');
    return null;
  }
  return { commit, path, pre, post, blocks };
}

/** A file the block format can express: text, LF, ending in a line break (the format has no way to change that). */
function usable(content: string): string | null {
  if (content.length > MAX_BYTES) return 'file too large';
  if (content.includes('\0')) return 'binary';
  if (content.includes('\r')) return 'CRLF file';
  if (content.length > 0 && !content.endsWith('\n')) return 'no final newline';
  return null;
}

/**
 * Reads up to `limit` non-merge commits touching `pattern` and turns them into blocks, one commit
 * at a time: each block holds its file twice, so a whole corpus would not fit in memory.
 */
export function* readCorpus(gitDir: string, limit: number, pattern: string, stats: CorpusStats): Generator<BenchCommit> {
  const skip = (why: string) => {
    stats.skipped[why] = (stats.skipped[why] ?? 0) + 1;
  };
  const log = git(gitDir, ['log', '--no-merges', '--format=%H %P', '-n', String(limit), '--', pattern])
    .trim()
    .split('\n');
  for (const entry of log) {
    const [commit, parent] = entry.split(' ');
    if (!commit || !parent) continue;
    const files: BenchFile[] = [];
    for (const [path, hunks] of diffHunks(gitDir, parent, commit, pattern)) {
      if (hunks.length > MAX_HUNKS) {
        skip(`more than ${MAX_HUNKS} hunks in a file`);
        continue;
      }
      const pre = git(gitDir, ['cat-file', 'blob', `${parent}:${path}`]);
      const post = git(gitDir, ['cat-file', 'blob', `${commit}:${path}`]);
      const why = usable(pre) ?? usable(post);
      if (why) {
        skip(why);
        continue;
      }
      const file = buildFile(commit, path, pre, post, hunks, skip);
      if (file) files.push(file);
    }
    const created: BenchCommit['created'] = [];
    const added = git(gitDir, ['diff', '--name-only', '--no-renames', '--diff-filter=A', parent, commit, '--', pattern])
      .split('\n')
      .filter(Boolean);
    for (const path of added) {
      const content = git(gitDir, ['cat-file', 'blob', `${commit}:${path}`]);
      if (!usable(content)) created.push({ path, content });
    }
    if (files.length === 0 && created.length === 0) continue;
    stats.commits++;
    stats.files += files.length;
    stats.hunks += files.reduce((n, f) => n + f.blocks.length, 0);
    stats.widened += files.reduce((n, f) => n + f.blocks.filter((b) => b.widened).length, 0);
    yield { commit, files, created };
  }
}
