import { createHash } from 'node:crypto';
import { lstat, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import parseDiff from 'parse-diff';
import { worktreeGit, worktreeGitEnv } from '../git/worktree-git.js';
import type { FixCheck, FixTestRun } from '../jobs/fix-engine.js';
import { newSyntaxErrors } from './check-syntax.js';
import { checkDiffPolicy } from './diff-policy.js';
import { runTests, type TestPlan } from './plan-tests.js';
import { keepOut } from './prepare-environment.js';
import { compareRuns } from './test-outcomes.js';

/** The job's work tree: its own `.git` (a linked work tree) and the commit it started from. */
export interface Worktree {
  gitDir: string;
  dir: string;
  commit: string;
}

/** What a work tree's changes came to: a diff that passed every check, or why not. */
export type Validation =
  | { ok: true; diff: string; files: string[]; checks: FixCheck[]; after: FixTestRun | null }
  | { ok: false; problems: string[]; testOutput?: string; after?: FixTestRun };

export interface ValidateOptions {
  signal: AbortSignal;
  /** The tests before any edit, to tell a new failure from an old one. */
  before: FixTestRun | null;
  /** Tests the fix must make pass (named by the report or the failed check). */
  required: readonly string[];
  /**
   * Untracked files that belong to the fix. `all`: every one (single-shot answers only write the
   * fix). A list: only these (the agent's edits), since its commands leave caches and scratch files.
   */
  untracked: 'all' | ReadonlySet<string>;
  /** New test files the agent wrote to reproduce the bug: kept only when they failed before the fix and pass with it. */
  reproductions?: readonly string[];
}

const git = (tree: Worktree, args: string[], env?: Record<string, string>) => worktreeGit(tree.dir, args, env);

/** Stages the fix in the work tree's own index and returns its diff. */
export async function stageDiff(tree: Worktree, keep: readonly string[], untracked: ValidateOptions['untracked']): Promise<string> {
  const { pathspecs } = keepOut(keep);
  // The config is read once for the commands below: only Kodah runs between them.
  const env = await worktreeGitEnv(tree.dir);
  await git(tree, ['reset', '--quiet'], env);
  if (untracked === 'all') await git(tree, ['add', '-A', '--', '.', ...pathspecs], env);
  else {
    await git(tree, ['add', '-u', '--', '.', ...pathspecs], env);
    const present = [];
    // Still a regular file: a command may have removed it, or left a FIFO in its place.
    for (const file of untracked) if ((await lstat(path.join(tree.dir, file)).catch(() => null))?.isFile()) present.push(file);
    if (present.length) await git(tree, ['add', '-f', '--', ...present.map((p) => `:(literal)${p}`)], env);
  }
  return git(tree, ['diff', '--cached', '--binary', '--no-color', '--no-ext-diff', '--no-textconv'], env);
}

/**
 * Checks the work tree's changes as a fix: the diff policy, the syntax of the changed files, and
 * the repository's tests in the sandbox next to the run before any edit.
 */
export async function validateWorktree(tree: Worktree, plan: TestPlan, options: ValidateOptions): Promise<Validation> {
  let diff = await stageDiff(tree, plan.keep, options.untracked);
  const policy = checkDiffPolicy(diff);
  if (policy.length) return { ok: false, problems: policy };
  let files = changedFiles(diff);
  const syntax = await newSyntaxErrors(tree.gitDir, tree.commit, tree.dir, files);
  if (syntax.length) return { ok: false, problems: syntax };
  const checks: FixCheck[] = [
    { name: 'diff_policy', outcome: 'passed' },
    { name: 'syntax', outcome: 'passed' },
  ];
  const command = plan.command;
  if (!command) {
    checks.push({ name: 'tests', outcome: 'skipped', detail: 'no test_command in .github/kodah.yml' });
    return { ok: true, diff, files, checks, after: null };
  }
  if (!plan.sandbox || plan.skipped) {
    checks.push({ name: 'tests', outcome: 'skipped', detail: `skipped: ${plan.skipped ?? 'no sandbox'}` });
    return { ok: true, diff, files, checks, after: null };
  }
  const { run, summary: after } = await runTests(plan, options.signal);
  const problems = compareRuns(options.before, after, options.required);
  if (run.limit) problems.unshift(`The test command \`${command}\` was stopped at the sandbox's ${run.limit} limit with these edits.`);
  if (problems.length) return { ok: false, problems, testOutput: run.outputTail.slice(-4000), after };
  const failedBefore = options.before?.failed.length ?? 0;
  checks.push({
    name: 'tests',
    outcome: 'passed',
    detail:
      `${command} (${run.seconds} s, ${plan.sandbox.driver} sandbox)` +
      (run.exitCode !== 0 ? `: ${after.failed.length} failing, all of which failed before the edits (${failedBefore})` : ''),
  });
  const dropped = await checkReproductions(tree, plan, options, files);
  if (dropped.length) {
    for (const file of dropped) await rm(path.join(tree.dir, file.path), { force: true });
    diff = await stageDiff(tree, plan.keep, options.untracked);
    files = changedFiles(diff);
    if (!diff.trim()) return { ok: false, problems: ['The only change left is a test: the fix itself is missing.'] };
  }
  for (const file of dropped)
    checks.push({ name: 'tests', outcome: 'skipped', detail: `reproduction test ${file.path} left out: ${file.why}` });
  const reproduced = (options.reproductions ?? []).some((test) => files.includes(test));
  const unfixed = fixesNothing(options.before, after, reproduced);
  if (unfixed) return { ok: false, problems: [unfixed], testOutput: run.outputTail.slice(-4000), after };
  return { ok: true, diff, files, checks, after };
}

/** Listed paths whose metadata the fingerprint takes in; past this the listing alone must tell. */
const FINGERPRINT_STATS = 5000;

/**
 * What the files of the work tree look like now, as a hash: equal hashes, no change in between.
 * `git status` lists what differs from the commit; a listed file changed again shows in its size,
 * mtime or ctime (a write moves them), so no second git process diffs their content.
 */
export async function treeFingerprint(tree: Worktree): Promise<string> {
  const status = await git(tree, ['status', '--porcelain=v1', '-z', '--no-renames', '--untracked-files=all']);
  const hash = createHash('sha256').update(status);
  const paths = status
    .split('\0')
    .filter(Boolean)
    .map((entry) => entry.slice(3))
    .slice(0, FINGERPRINT_STATS);
  const stats = await Promise.all(paths.map((p) => lstat(path.join(tree.dir, p), { bigint: true }).catch(() => null)));
  for (const st of stats) hash.update(st ? `\0${st.mode}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : '\0-');
  return hash.digest('hex');
}

/**
 * Tests that failed before the edits prove a fix only when one of them passes now, or when a
 * reproduction test of the agent's failed before and passes now: otherwise the edits left every
 * failure as it was. A suite that passed before proves nothing either way, and is only kept green.
 */
function fixesNothing(before: FixTestRun | null, after: FixTestRun, reproduced: boolean): string | null {
  if (!before || before.exitCode === 0 || after.exitCode === 0 || reproduced) return null;
  const stillFailing = new Set(after.failed);
  if (before.failed.some((id) => !stillFailing.has(id))) return null;
  const which = before.failed.length ? ` (${before.failed.slice(0, 10).join(', ')})` : '';
  return (
    `The tests that failed before the edits still fail${which}: the edits fix none of them. ` +
    'If those failures have nothing to do with the report, add a test that reproduces the bug.'
  );
}

function changedFiles(diff: string): string[] {
  return parseDiff(diff).map((f) => (f.to && f.to !== '/dev/null' ? f.to : f.from!));
}

/**
 * The agent's reproduction tests, each run on its own with the fix and without it (the other
 * changed files put back as committed for that run). One that did not fail before the fix, or does
 * not pass with it, proves nothing and is left out of the diff.
 */
async function checkReproductions(
  tree: Worktree,
  plan: TestPlan,
  options: ValidateOptions,
  files: readonly string[],
): Promise<Array<{ path: string; why: string }>> {
  const sandbox = plan.sandbox!;
  const dropped: Array<{ path: string; why: string }> = [];
  for (const test of options.reproductions ?? []) {
    if (!files.includes(test)) continue;
    if (!test.endsWith('.py')) {
      dropped.push({ path: test, why: 'Kodah runs reproduction tests with pytest only' });
      continue;
    }
    const command = `python3 -m pytest -q -p no:cacheprovider -- ${shellQuote(test)}`;
    const limits = plan.limits;
    const withFix = await sandbox.run(command, { limits, signal: options.signal });
    if (withFix.exitCode !== 0) {
      dropped.push({ path: test, why: 'it does not pass with the fix' });
      continue;
    }
    const fixed = new Map<string, Buffer | null>();
    for (const file of files) {
      if (file === test || (options.reproductions ?? []).includes(file)) continue;
      fixed.set(file, await readFile(path.join(tree.dir, file)).catch(() => null));
    }
    try {
      for (const file of fixed.keys()) {
        const original = await git(tree, ['cat-file', 'blob', `${tree.commit}:${file}`]).then(
          (text) => text,
          () => null,
        );
        if (original === null) await rm(path.join(tree.dir, file), { force: true });
        else await writeFile(path.join(tree.dir, file), original);
      }
      const withoutFix = await sandbox.run(command, { limits, signal: options.signal });
      if (withoutFix.exitCode === 0) dropped.push({ path: test, why: 'it passes without the fix too, so it does not reproduce the bug' });
    } finally {
      for (const [file, content] of fixed) if (content !== null) await writeFile(path.join(tree.dir, file), content);
    }
  }
  return dropped;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
