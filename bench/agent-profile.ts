/**
 * Where the time of a tool over the agent's goal goes, measured piece by piece on the same
 * repository: search_code's localizer stages, and the work `run` does around the sandbox.
 */
import { appendFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { addWorktree } from '../src/git/checkout.js';
import { listTree, readBlobs } from '../src/git/git-objects.js';
import { worktreeGit } from '../src/git/worktree-git.js';
import { chownAll } from '../src/sandbox/host-tool.js';
import { extractSnippets } from '../src/code/snippets.js';
import type { FactsCache } from '../src/localize/facts-cache.js';
import { isCandidate } from '../src/localize/file-prior.js';
import { localize } from '../src/localize/localize.js';
import { rankFiles } from '../src/localize/rank-files.js';
import { rankSnippets } from '../src/localize/rank-snippets.js';
import { readReport } from '../src/localize/report-signals.js';
import { definitionSignals } from '../src/localize/definition-signals.js';
import { mentionSignals } from '../src/localize/mention-signals.js';
import { nameSignals } from '../src/localize/name-signals.js';
import { textSignals } from '../src/localize/text-signals.js';
import { newSyntaxErrors } from '../src/fix/check-syntax.js';
import { stageDiff, treeFingerprint, validateWorktree } from '../src/fix/validate-worktree.js';

const LIMITS = {
  timeoutMs: 60_000,
  memoryBytes: 2 ** 31,
  processes: 256,
  diskBytes: 2 ** 32,
  outputTailBytes: 16_384,
  maxOutputBytes: 2 ** 26,
};

const execFileAsync = promisify(execFile);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function time<T>(into: number[], f: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await f();
  } finally {
    into.push(performance.now() - started);
  }
}

/** search_code's queries again, each stage of the localizer timed (the facts cache is warm, as in the jobs). */
export async function profileSearch(repo: string, searches: Array<{ commit: string; query: string }>, cache: FactsCache): Promise<void> {
  const t = {
    whole: [] as number[],
    list: [] as number[],
    facts: [] as number[],
    files: [] as number[],
    text: [] as number[],
    others: [] as number[],
    snippets: [] as number[],
    parse: [] as number[],
  };
  let chunks = 0;
  let candidates = 0;
  for (const { commit, query } of searches.slice(0, 10)) {
    await time(t.whole, () => localize(repo, commit, query, { cache, files: 30, snippets: 80, pastFunctions: false }));
    const tree = await time(t.list, () => listTree(repo, commit));
    const kept = tree.filter((f) => isCandidate(f.path) && f.size <= 1024 * 1024);
    candidates = kept.length;
    const facts = await time(t.facts, () => cache.factsFor(repo, kept));
    const report = readReport(query);
    const context = { tree: kept, facts, reasons: kept.map((): string[] => []) };
    chunks = facts.reduce((sum, f) => sum + f.chunks.length, 0);
    await time(t.text, async () => textSignals(context, report));
    await time(t.others, async () => [mentionSignals(context, report), definitionSignals(context, report), nameSignals(context, report)]);
    const ranked = await time(t.files, () => rankFiles(repo, commit, report, cache));
    const shas = new Map(ranked.tree.map((f) => [f.path, f.sha]));
    await time(t.snippets, () => rankSnippets(repo, (p) => shas.get(p), report, ranked.files, { limit: 80 }));
    // What rankSnippets reads and parses: the eight best files, whole.
    const top = ranked.files.slice(0, 8);
    await time(t.parse, async () => {
      const blobs = await readBlobs(
        repo,
        top.map((f) => shas.get(f.path)!),
      );
      for (const f of top) await extractSnippets(f.path, blobs.get(shas.get(f.path)!)!.toString('utf8'));
    });
  }
  console.log(
    `- search_code (median of ${t.whole.length} of its queries, warm facts cache): localize ${ms(median(t.whole))} = ` +
      `rankFiles ${ms(median(t.files))} (git ls-tree ${ms(median(t.list))} and the facts of ${candidates} files ${ms(median(t.facts))}, both kept per commit and blob, ` +
      `then the signals of every file: textSignals ${ms(median(t.text))}, the others ${ms(median(t.others))}) ` +
      `+ rankSnippets ${ms(median(t.snippets))} (reading and parsing the 8 best files whole, were none parsed before: ${ms(median(t.parse))}). ` +
      `The tree's indexes (BM25 over the ${candidates} files and their ${chunks} functions and classes, the name and module tables) are built once per tree ` +
      `and each blob is parsed once, so what is left per query is scoring, and tree-sitter on the best files no search has parsed yet.`,
  );
}

/**
 * What `run` does around the sandbox on a work tree of the commit (the tree fingerprint after
 * each command, and as root the ownership walk before it), and what submit does without tests.
 */
export async function profileWorktree(repo: string, commit: string, worktreeDir: string, tools: readonly string[]): Promise<void> {
  const tree = await addWorktree(repo, commit, { worktreeDir, timeoutMs: 120_000 });
  try {
    const t = { fingerprint: [] as number[], status: [] as number[], chown: [] as number[], spawn: [] as number[] };
    const git = (args: string[]) => worktreeGit(tree.dir, args);
    // A root server's first command gives the whole tree to the sandbox's uid (chown -R): every
    // file's owner and ctime change, which the fingerprint's git status does not look at.
    const afterChown: number[] = [];
    const root = process.getuid?.() === 0;
    if (tools.includes('run') && root) {
      await treeFingerprint(tree);
      await chownAll(tree.dir, 65534, 65534);
      await time(afterChown, () => treeFingerprint(tree));
    }
    for (let i = 0; i < 5 && tools.includes('run'); i++) {
      await time(t.fingerprint, () => treeFingerprint(tree));
      await time(t.status, () => git(['status', '--porcelain=v1', '-z', '--no-renames', '--untracked-files=all']));
      // As the bubblewrap driver does before every command of a root server: what the server wrote since is handed over.
      if (root) await time(t.chown, () => chownAll(tree.dir, 65534, 65534, 0));
      await time(t.spawn, () => execFileAsync('true'));
    }
    if (tools.includes('run'))
      console.log(
        `- run, around the sandbox (median of 5 on a work tree of the commit): the tree fingerprint after each command ${ms(median(t.fingerprint))} ` +
          `(of which git status --untracked-files=all ${ms(median(t.status))}, its config read included); ` +
          (root
            ? `the ownership pass before each command (chown -R --from, one walk of the tree in C) ${ms(median(t.chown))}; ` +
              `the first fingerprint after the first command's chown -R ${ms(afterChown[0] ?? NaN)}. `
            : 'no ownership pass (not root). ') +
          `Each process the server starts costs ${ms(median(t.spawn))} here (\`true\`): node forks the whole server to start it, ` +
          `so the cost grows with the server's memory (${Math.round(process.memoryUsage().rss / 1e6)} MB resident now); a run starts four.`,
      );
    if (!tools.includes('submit')) return;
    const s = { validate: [] as number[], stage: [] as number[], syntax: [] as number[] };
    const file = (await git(['ls-files', '*.py'])).split('\n').find((f) => f.endsWith('/__init__.py')) ?? 'setup.py';
    await appendFile(path.join(tree.dir, file), '# kodah benchmark\n');
    const plan = { command: undefined, sandbox: null, skipped: null, noSandbox: null, limits: LIMITS, keep: [], record: async () => {} };
    for (let i = 0; i < 5; i++) {
      await time(s.validate, () =>
        validateWorktree(tree, plan, { signal: new AbortController().signal, before: null, required: [], untracked: new Set() }),
      );
      await time(s.stage, () => stageDiff(tree, [], new Set()));
      await time(s.syntax, () => newSyntaxErrors(tree.gitDir, tree.commit, tree.dir, [file]));
    }
    console.log(
      `- submit without tests (median of 5, one changed file): validateWorktree ${ms(median(s.validate))} = staging the diff ` +
        `(git reset, git add -u over the tree, git diff --cached) ${ms(median(s.stage))} + the syntax check of the changed file ${ms(median(s.syntax))}; ` +
        'once per candidate, and with a test_command the tests come on top.',
    );
  } finally {
    await tree.remove();
  }
}
