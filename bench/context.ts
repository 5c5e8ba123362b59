/**
 * What the fix's first prompt shows of the code the gold patch changes. For each instance Kodah's
 * first prompt is built as the fix pipeline builds it (localize on the mirror, buildContext on a
 * work tree of the base commit, firstMessages), then measured against the gold patch:
 *
 * - files: every gold file has a section ("### path (…)") in the prompt;
 * - gold lines: for each run of changed lines in a hunk, the original lines it removes, or for a
 *   pure insertion the original line before it (the one after, at the top of a file); a gold line
 *   is shown when the file's section has a numbered row with its original line number;
 *   all = every gold line shown, any = at least one;
 * - tokens: the estimate (estimateTokens) of the system and user messages; share = the context's
 *   own estimate (CodeContext.tokens) over the budget.
 *
 * Files the gold patch creates have no original lines and are left out of both. Each missed gold
 * line gets the reason it was missed (see missReasons), the guide for packing better.
 *
 *   npm run bench:context -- --data FILE.jsonl --gold GOLD.jsonl --mirrors DIR [--tokens 24000]
 *                            [--repo owner/name] [--limit N] [--out per-instance.jsonl] [--blobs]
 *                            [--localized DIR] [--trace]
 *
 * DIR holds one bare repository per project at <owner>+<name>/repo; instances whose repository
 * is absent are skipped. --blobs writes only the localized and gold files from their blobs
 * instead of checking out a work tree: the same prompts, in half the time. The last line printed
 * is the summary. --localized DIR keeps each instance's file ranking in DIR and reads it back on
 * later runs, ranking only the snippets again: for tuning the snippet ranking and the packing in a
 * minute (delete DIR when the file ranking changes).
 *
 * --trace runs each report's Python examples first, as the pipeline does when the job has a
 * sandbox (fix/trace-examples.ts): in the bubblewrap sandbox, on a work tree of the base commit,
 * with the machine's python3 and its Debian packages standing in for the repository's prepared
 * environment (python3-mpmath, -numpy, -pandas, -matplotlib, -requests, -flask, -sphinx,
 * -astroid), and shims that let old code of these projects import on a new Python. Kept in
 * --localized DIR like the ranking.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import parseDiff from 'parse-diff';
import { z } from 'zod';
import { instanceSchema, readJsonl } from './instances.js';
import { extractSnippets } from '../src/code/snippets.js';
import { buildContext, CONTEXT_LOCALIZE, MARGIN, MAX_FILES, WHOLE_FILE_LINES } from '../src/fix/build-context.js';
import { firstMessages } from '../src/fix/prompts.js';
import { addWorktree, type Checkout } from '../src/git/checkout.js';
import { listTree, readBlobs, resolveCommit } from '../src/git/git-objects.js';
import { estimateTokens } from '../src/llm/count-tokens.js';
import { FactsCache } from '../src/localize/facts-cache.js';
import { type Localization, localize, localizeFiles } from '../src/localize/localize.js';
import { fileScore, rankFiles } from '../src/localize/rank-files.js';
import { rankSnippets } from '../src/localize/rank-snippets.js';
import { pastFunctions } from '../src/localize/past-functions.js';
import { similarCommits } from '../src/localize/history-signals.js';
import { readReport } from '../src/localize/report-signals.js';
import { type ExampleEvidence, raisedScore } from '../src/localize/execution-signals.js';
import { commandLimits, loadConfig } from '../src/config.js';
import { examplePackage, traceExamples } from '../src/fix/trace-examples.js';
import { createLogger } from '../src/lib/logger.js';
import type { SandboxDriver, SandboxLimits } from '../src/sandbox/sandbox.js';
import { selectSandbox } from '../src/sandbox/select-driver.js';

// As the fix pipeline asks the localizer.
const LOCALIZE = CONTEXT_LOCALIZE;
// One cache for the whole run, as a worker keeps one across jobs.
const cache = new FactsCache();

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    gold: { type: 'string' },
    mirrors: { type: 'string' },
    tokens: { type: 'string', default: '24000' },
    out: { type: 'string' },
    limit: { type: 'string' },
    repo: { type: 'string' },
    // Quicker loops (half the time, the same figures): only the files the prompt may show, written
    // from their blobs, instead of a work tree of the whole commit.
    blobs: { type: 'boolean', default: false },
    // Tuning the packing alone: each instance's localization is kept here and read back.
    localized: { type: 'string' },
    // The report's examples run first, traced, in the bubblewrap sandbox.
    trace: { type: 'boolean', default: false },
  },
});
const budget = Number(values.tokens);
if (!values.data || !values.gold || !values.mirrors || !(budget > 0)) {
  console.error(
    'usage: npm run bench:context -- --data FILE.jsonl --gold GOLD.jsonl --mirrors DIR [--tokens 24000] [--out per-instance.jsonl] [--repo owner/name] [--limit N]',
  );
  process.exit(2);
}

const goldSchema = z.object({ instance_id: z.string(), gold_patch: z.string().min(1) });

interface GoldFile {
  /** The original path. */
  path: string;
  /** Original line numbers the fix must see, ascending. */
  lines: number[];
}

/**
 * The files a patch changes and their gold lines: per run of consecutive changes in a hunk, the
 * original lines it removes; a run that only adds is anchored at the original line before it (the
 * first line, when it inserts at the top). Files the patch creates are returned apart.
 */
function goldOf(patch: string): { files: GoldFile[]; created: string[] } {
  const files: GoldFile[] = [];
  const created: string[] = [];
  for (const file of parseDiff(patch)) {
    if (file.new || !file.from || file.from === '/dev/null') {
      if (file.to) created.push(file.to);
      continue;
    }
    const lines = new Set<number>();
    for (const chunk of file.chunks) {
      // The last original line read; a hunk without old lines (-U0) inserts after its start.
      let before = chunk.oldLines === 0 ? chunk.oldStart : chunk.oldStart - 1;
      let removed: number[] = [];
      let added = false;
      const close = () => {
        if (removed.length) for (const l of removed) lines.add(l);
        else if (added) lines.add(Math.max(before, 1));
        removed = [];
        added = false;
      };
      for (const change of chunk.changes) {
        if (change.type === 'normal') {
          close();
          before = change.ln1;
        } else if (change.type === 'del') {
          removed.push(change.ln);
          before = change.ln;
        } else added = true;
      }
      close();
    }
    files.push({ path: file.from, lines: [...lines].sort((a, b) => a - b) });
  }
  return { files, created };
}

interface Section {
  /** "all N lines" or "lines a-b, c-d of N", as the header says. */
  shown: string;
  /** The original line numbers of the rows shown. */
  lines: Set<number>;
}

/**
 * The prompt's file sections, read from its text as the model reads them: a "### path (…)" header,
 * then a fence of "N | line" rows (build-context.ts). Only the part after the code heading is read,
 * so a report quoting code cannot count.
 */
function sectionsOf(prompt: string): Map<string, Section> {
  const code = prompt.slice(prompt.lastIndexOf('\n# Code from the repository\n') + 1);
  const sections = new Map<string, Section>();
  let current: Section | null = null;
  let fenced = false;
  for (const line of code.split('\n')) {
    if (fenced) {
      if (line.startsWith('```')) {
        fenced = false;
        current = null;
      } else {
        const row = /^(\d+)\t/.exec(line);
        if (row && current) current.lines.add(Number(row[1]));
      }
      continue;
    }
    const header = /^### (.+) \((all \d+ lines|lines [\d, -]+ of \d+)\)$/.exec(line);
    if (header) {
      current = { shown: header[2]!, lines: new Set() };
      sections.set(header[1]!, current);
    } else if (current && line.startsWith('```')) fenced = true;
  }
  return sections;
}

interface Probe {
  id: string;
  gitDir: string;
  commit: string;
  description: string;
  worktree: string;
  localized: Localization;
  /** Every candidate file's rank, computed once per instance when a gold file is not in the top. */
  fullRanking?: string[];
}

/**
 * Why each missed gold line of a file is missing from the prompt: the file was not localized (its
 * rank), ranked but not packed, or packed in part (a ranked snippet held the line but only the best
 * snippet fitted; the line's function or class is not among the ranked snippets; the line is at
 * module level; a long file without ranked snippets shows its head only). Cuts are tagged with the
 * file's length: a file of at most WHOLE_FILE_LINES lines is cut only when it did not fit whole.
 */
async function missReasons(
  probe: Probe,
  gold: GoldFile,
  section: Section | undefined,
  missed: number[],
): Promise<{ rank: number | null; fileLines: number | null; reasons: Record<string, number[]>; definitions: string[] }> {
  const index = probe.localized.files.findIndex((f) => f.path === gold.path);
  let rank: number | null = index >= 0 ? index + 1 : null;
  const content = await readFile(path.join(probe.worktree, gold.path), 'utf8').catch(() => null);
  const lines = content === null ? null : content.split('\n');
  if (lines && lines.at(-1) === '') lines.pop();
  const fileLines = lines?.length ?? null;
  const reasons: Record<string, number[]> = {};
  const definitions = new Set<string>();
  const add = (reason: string, line: number) => (reasons[reason] ??= []).push(line);
  if (!section) {
    let reason: string;
    if (index < 0) {
      probe.fullRanking ??= await keptOnce(`${probe.id}.ranking`, async () =>
        (await localizeFiles(probe.gitDir, probe.commit, probe.description, { cache, limit: Number.MAX_SAFE_INTEGER })).map((f) => f.path),
      );
      const at = probe.fullRanking.indexOf(gold.path);
      rank = at >= 0 ? at + 1 : null;
      reason =
        at < 0
          ? 'file not ranked (not a candidate, or absent)'
          : `file not in the top ${LOCALIZE.files} (rank ${at < 20 ? '11-20' : at < 50 ? '21-50' : '>50'})`;
    } else if (index >= MAX_FILES) reason = `file ranked ${MAX_FILES + 1}-${LOCALIZE.files}: beyond the ${MAX_FILES} files packed`;
    else if (content === null || content.includes('\0')) reason = 'file in the top, unreadable or binary';
    else reason = `file in the top ${MAX_FILES}, left out: over the budget`;
    for (const line of missed) add(reason, line);
    return { rank, fileLines, reasons, definitions: [] };
  }
  const long = (fileLines ?? 0) > WHOLE_FILE_LINES;
  const tag = long ? `file > ${WHOLE_FILE_LINES} lines` : `file <= ${WHOLE_FILE_LINES} lines, whole over the budget`;
  const snippets = probe.localized.snippets.filter((s) => s.path === gold.path);
  const defs = content === null ? [] : await extractSnippets(gold.path, content);
  for (const line of missed) {
    if (fileLines !== null && line > fileLines) {
      add('line beyond the end of the file', line);
      continue;
    }
    if (!snippets.length) {
      add(`no ranked snippet in the file: its first lines only (${tag})`, line);
      continue;
    }
    if (snippets.some((s) => line >= s.startLine - MARGIN && line <= s.endLine + MARGIN)) {
      add(`a ranked snippet holds it, only the best snippet fitted (${tag})`, line);
      continue;
    }
    const inner = defs
      .filter((d) => d.kind !== 'lines' && d.startLine <= line && line <= d.endLine)
      .sort((a, b) => a.endLine - a.startLine - (b.endLine - b.startLine))[0];
    if (inner) {
      definitions.add(`${inner.qualifiedName} (${inner.kind}, ${inner.startLine}-${inner.endLine})`);
      add(`its ${inner.kind} is not among the ranked snippets (${tag})`, line);
    } else add(`outside any function or class (${tag})`, line);
  }
  return { rank, fileLines, reasons, definitions: [...definitions] };
}

interface Row {
  id: string;
  repo: string;
  /** "worktree", or "blobs" when the mirror could not check the commit out. */
  checkout: string;
  seconds: number;
  promptTokens: number;
  contextTokens: number;
  share: number;
  named: boolean;
  all: boolean;
  any: boolean;
  goldLines: number;
  shownLines: number;
  created: string[];
  files: Array<{
    path: string;
    rank: number | null;
    fileLines: number | null;
    shown: string | null;
    lines: number[];
    missed: number[];
    reasons: Record<string, number[]>;
    definitions: string[];
  }>;
  sections: Array<{ path: string; shown: string }>;
  top: string[];
  snippets: Array<{ path: string; name: string; lines: string }>;
}

/**
 * The given files of a commit written from their blobs: the stand-in for a work tree when the
 * mirror cannot check one out (a snapshot that lacks some large blob). Git converts nothing on
 * checkout in these repositories, so the files read the same.
 */
async function blobTree(gitDir: string, commit: string, paths: string[], worktreeDir: string): Promise<Checkout> {
  const shas = new Map((await listTree(gitDir, commit)).map((f) => [f.path, f.sha]));
  const wanted = [...new Set(paths)].filter((p) => shas.has(p));
  const blobs = await readBlobs(
    gitDir,
    wanted.map((p) => shas.get(p)!),
  );
  const dir = await mkdtemp(path.join(worktreeDir, 'blobs-'));
  for (const p of wanted) {
    const blob = blobs.get(shas.get(p)!);
    if (!blob) continue;
    await mkdir(path.dirname(path.join(dir, p)), { recursive: true });
    await writeFile(path.join(dir, p), blob);
  }
  return { gitDir, dir, commit, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A value computed once per instance and kept in --localized DIR, when given, for later runs. */
async function keptOnce<T>(name: string, run: () => Promise<T>): Promise<T> {
  if (!values.localized) return run();
  const file = path.join(values.localized, `${name}.json`);
  const kept = await readFile(file, 'utf8').catch(() => null);
  if (kept !== null) return JSON.parse(kept) as T;
  const value = await run();
  await mkdir(values.localized, { recursive: true });
  await writeFile(file, JSON.stringify(value));
  return value;
}

/**
 * localize(), with the file ranking kept in --localized DIR when given: the snippets of the best
 * files are ranked again on each run (a fraction of the time), so both the snippet ranking and the
 * packing can be tuned quickly.
 */
async function localizeKept(
  id: string,
  gitDir: string,
  commit: string,
  description: string,
  examples: ExampleEvidence | undefined,
): Promise<Localization> {
  const executed = examples?.executed;
  if (!values.localized) return localize(gitDir, commit, description, { cache, ...LOCALIZE, executed, raised: examples?.raised });
  const report = readReport(description);
  // The best few hundred with their signals, scored again: the file ranking's weights can be tuned too.
  const kept = await keptOnce(`${id}.files`, async () => (await rankFiles(gitDir, commit, report, cache)).files.slice(0, 300));
  const similar = await keptOnce(`${id}.similar`, async () => similarCommits(report, await cache.historyOf(gitDir, commit)));
  const past = await pastFunctions(gitDir, similar);
  const files = kept
    .map((f) => ({
      ...f,
      signals: { ...f.signals, executed: executed?.has(f.path) ? 1 : 0, raised: raisedScore(examples?.raised, f.path) },
    }))
    .map((f) => ({ ...f, score: fileScore(f.signals) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, LOCALIZE.files);
  const shas = new Map((await cache.treeOf(gitDir, commit)).map((f) => [f.path, f.sha]));
  const snippets = await rankSnippets(gitDir, (p) => shas.get(p), report, files, { limit: LOCALIZE.snippets, past, executed });
  return { commit, files, snippets };
}

/**
 * Lets old code of the dev repositories import on the machine's Python 3.11 (`collections.Mapping`
 * went in 3.10, `fractions.gcd` in 3.9): the benchmark's stand-in for the environment a
 * repository's own setup would prepare. Never part of a job.
 */
const OLD_PYTHON_SHIMS = `
import collections, collections.abc, fractions, inspect, math, time
for _n in ('Mapping', 'MutableMapping', 'Callable', 'Iterable', 'Sequence', 'MutableSet', 'Set', 'Hashable', 'Sized', 'Container', 'Iterator', 'Generator', 'MutableSequence'):
    if not hasattr(collections, _n): setattr(collections, _n, getattr(collections.abc, _n))
if not hasattr(fractions, 'gcd'): fractions.gcd = math.gcd
if not hasattr(inspect, 'getargspec'): inspect.getargspec = lambda f: inspect.getfullargspec(f)[:4]
if not hasattr(time, 'clock'): time.clock = time.perf_counter
`;

interface BenchSandbox {
  driver: SandboxDriver;
  limits: SandboxLimits;
  /** Where its work trees go: a folder the sandbox's unprivileged user can pass through. */
  worktreeDir: string;
}
let benchSandbox: Promise<BenchSandbox> | null = null;

/** The bubblewrap sandbox as a server would choose it, with the server's limits; the run stops when there is none. */
function sandboxOnce(): Promise<BenchSandbox> {
  benchSandbox ??= (async () => {
    const data = await mkdtemp(path.join(tmpdir(), 'kodah-bench-trace-'));
    await chmod(data, 0o711);
    const config = loadConfig({ KODAH_DATA_DIR: data, KODAH_SANDBOX: 'bubblewrap' });
    const chosen = await selectSandbox(config, createLogger('warn'));
    if (!chosen.driver) throw new Error(`--trace needs the bubblewrap sandbox: ${chosen.problem}`);
    const limits = { ...commandLimits(config.sandbox), timeoutMs: 60_000 };
    return { driver: chosen.driver, limits, worktreeDir: path.join(data, 'worktrees') };
  })();
  return benchSandbox;
}

/** What the report's examples ran, traced on a work tree of the commit (kept in --localized DIR). */
async function tracedOnce(id: string, repo: string, gitDir: string, commit: string, description: string) {
  const kept = await keptOnce(`${id}.trace`, async () => {
    const { driver, limits, worktreeDir } = await sandboxOnce();
    // A mirror that cannot check the commit out (a snapshot missing a blob) has nothing to run.
    const tree = await addWorktree(gitDir, commit, { worktreeDir, timeoutMs: 600_000 }).catch(() => null);
    if (!tree) return null;
    const sandbox = await driver.open(tree.dir);
    try {
      const traced = await traceExamples(sandbox, description, {
        package: await examplePackage(tree.dir, repo.split('/')[1]!),
        limits,
        prelude: OLD_PYTHON_SHIMS,
      });
      const files = [...(traced?.executed ?? [])].map(([f, n]): [string, string[]] => [f, [...n]]);
      return traced && { statements: traced.statements, ran: traced.ran, files, raised: traced.raised };
    } finally {
      await sandbox.close();
      await tree.remove();
    }
  });
  // Traces kept before the tracer read errors have no `raised`.
  return kept ? { executed: new Map(kept.files.map(([f, n]) => [f, new Set(n)])), raised: kept.raised ?? [] } : undefined;
}

async function measure(inst: z.infer<typeof instanceSchema>, gitDir: string, patch: string, worktreeDir: string): Promise<Row> {
  const started = performance.now();
  const commit = await resolveCommit(gitDir, inst.base_commit);
  const examples = values.trace ? await tracedOnce(inst.instance_id, inst.repo, gitDir, commit, inst.problem_statement) : undefined;
  // As the pipeline does: the work tree is written while the localizer reads the mirror.
  const [added, localizing] = await Promise.allSettled([
    values.blobs ? Promise.resolve(null) : addWorktree(gitDir, commit, { worktreeDir, timeoutMs: 600_000 }),
    localizeKept(inst.instance_id, gitDir, commit, inst.problem_statement, examples),
  ]);
  let tree: Checkout | null = added.status === 'fulfilled' ? added.value : null;
  let checkout = 'worktree';
  try {
    if (localizing.status === 'rejected') throw localizing.reason;
    const localized = localizing.value;
    const gold = goldOf(patch);
    if (!tree) {
      if (added.status === 'rejected') {
        const why = added.reason instanceof Error ? added.reason.message : String(added.reason);
        const lines = why.split('\n').filter((l) => /^(error|fatal):/.test(l));
        process.stderr.write(`${inst.instance_id}: ${lines.join(' ') || why}; files written from blobs instead\n`);
      }
      const paths = [...localized.files.map((f) => f.path), ...gold.files.map((f) => f.path)];
      tree = await blobTree(gitDir, commit, paths, worktreeDir);
      checkout = 'blobs';
    }
    const code = await buildContext(tree!.dir, localized, budget);
    const messages = firstMessages(inst.problem_statement, code.text);
    const promptTokens = messages.reduce((n, m) => n + estimateTokens(m.content), 0);
    const sections = sectionsOf(messages[1]!.content);
    if ([...sections.keys()].join('\n') !== code.files.join('\n'))
      process.stderr.write(`${inst.instance_id}: sections read from the prompt differ from the files packed\n`);

    const probe: Probe = { id: inst.instance_id, gitDir, commit, description: inst.problem_statement, worktree: tree!.dir, localized };
    const files: Row['files'] = [];
    for (const g of gold.files) {
      const section = sections.get(g.path);
      const missed = g.lines.filter((l) => !section?.lines.has(l));
      const why = await missReasons(probe, g, section, missed);
      files.push({ path: g.path, shown: section?.shown ?? null, lines: g.lines, missed, ...why });
    }
    const goldLines = files.reduce((n, f) => n + f.lines.length, 0);
    const shownLines = goldLines - files.reduce((n, f) => n + f.missed.length, 0);
    return {
      id: inst.instance_id,
      repo: inst.repo,
      checkout,
      seconds: (performance.now() - started) / 1000,
      promptTokens,
      contextTokens: code.tokens,
      share: code.tokens / budget,
      named: files.every((f) => f.shown !== null),
      all: shownLines === goldLines,
      any: shownLines > 0,
      goldLines,
      shownLines,
      created: gold.created,
      files,
      sections: [...sections].map(([p, s]) => ({ path: p, shown: s.shown })),
      top: localized.files.map((f) => f.path),
      snippets: localized.snippets.map((s) => ({ path: s.path, name: s.qualifiedName, lines: `${s.startLine}-${s.endLine}` })),
    };
  } finally {
    await tree?.remove();
  }
}

const golds = new Map(readJsonl(values.gold, goldSchema).map((g) => [g.instance_id, g.gold_patch]));
let instances = readJsonl(values.data, instanceSchema);
if (values.repo) instances = instances.filter((i) => i.repo === values.repo);
if (values.limit) instances = instances.slice(0, Number(values.limit));

const rows: Row[] = [];
const failed: string[] = [];
let absent = 0;
let noGold = 0;
const runStarted = performance.now();
const worktreeDir = await mkdtemp(path.join(tmpdir(), 'kodah-bench-context-'));
try {
  for (const inst of instances) {
    const gitDir = path.join(values.mirrors, inst.repo.replace('/', '+'), 'repo');
    const patch = golds.get(inst.instance_id);
    if (!existsSync(gitDir)) {
      absent++;
      continue;
    }
    if (!patch) {
      noGold++;
      continue;
    }
    try {
      const row = await measure(inst, gitDir, patch, worktreeDir);
      rows.push(row);
      process.stderr.write(
        `${inst.instance_id.padEnd(36)} files ${row.named ? 'all' : 'no '}  lines ${row.shownLines}/${row.goldLines}  ${String(row.contextTokens).padStart(6)} tokens  ${row.seconds.toFixed(1)}s\n`,
      );
    } catch (error) {
      failed.push(inst.instance_id);
      process.stderr.write(`${inst.instance_id}: failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
} finally {
  await rm(worktreeDir, { recursive: true, force: true });
}
const wallSeconds = (performance.now() - runStarted) / 1000;

if (values.out) writeFileSync(values.out, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

const pct = (subset: Row[], pick: (r: Row) => boolean) => (subset.length ? (100 * subset.filter(pick).length) / subset.length : 0);
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};
const head = ['n', 'files', 'all lines', 'any line', 'prompt tok', 'budget'];
console.log(`\n${'repository'.padEnd(22)} ${head.map((h) => h.padStart(10)).join(' ')}`);
const line = (label: string, subset: Row[]) =>
  console.log(
    `${label.padEnd(22)} ${[
      String(subset.length),
      `${pct(subset, (r) => r.named).toFixed(1)}%`,
      `${pct(subset, (r) => r.all).toFixed(1)}%`,
      `${pct(subset, (r) => r.any).toFixed(1)}%`,
      String(median(subset.map((r) => r.promptTokens))),
      `${(100 * median(subset.map((r) => r.share))).toFixed(1)}%`,
    ]
      .map((c) => c.padStart(10))
      .join(' ')}`,
  );
for (const repo of [...new Set(rows.map((r) => r.repo))].sort())
  line(
    repo,
    rows.filter((r) => r.repo === repo),
  );
line('all', rows);

// Why gold lines are missed: lines, and instances with at least one line missed for the reason.
const byReason = new Map<string, { lines: number; instances: Set<string> }>();
for (const r of rows)
  for (const f of r.files)
    for (const [reason, missed] of Object.entries(f.reasons)) {
      const entry = byReason.get(reason) ?? { lines: 0, instances: new Set() };
      entry.lines += missed.length;
      entry.instances.add(r.id);
      byReason.set(reason, entry);
    }
const totalGold = rows.reduce((n, r) => n + r.goldLines, 0);
const totalMissed = rows.reduce((n, r) => n + r.goldLines - r.shownLines, 0);
console.log(`\ngold lines missed: ${totalMissed} of ${totalGold}, by reason (lines, instances):`);
for (const [reason, e] of [...byReason].sort((a, b) => b[1].lines - a[1].lines))
  console.log(`${String(e.lines).padStart(6)} ${String(e.instances.size).padStart(5)}  ${reason}`);

const notes = [
  absent ? `skipped ${absent} (mirror absent)` : '',
  rows.some((r) => r.checkout === 'blobs') ? `${rows.filter((r) => r.checkout === 'blobs').length} read from blobs (no work tree)` : '',
  noGold ? `skipped ${noGold} (no gold patch)` : '',
  failed.length ? `failed ${failed.length}: ${failed.join(', ')}` : '',
].filter(Boolean);
console.log(
  `\nbudget ${budget} tokens; wall ${wallSeconds.toFixed(0)}s, median ${median(rows.map((r) => r.seconds)).toFixed(1)}s per instance${notes.length ? `; ${notes.join('; ')}` : ''}`,
);
console.log(
  `instances=${rows.length} files=${pct(rows, (r) => r.named).toFixed(1)}% all-lines=${pct(rows, (r) => r.all).toFixed(1)}% ` +
    `any-line=${pct(rows, (r) => r.any).toFixed(1)}% median-prompt-tokens=${median(rows.map((r) => r.promptTokens))} ` +
    `median-budget-share=${(100 * median(rows.map((r) => r.share))).toFixed(1)}%`,
);
