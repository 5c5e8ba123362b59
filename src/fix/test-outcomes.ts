import type { FixTestRun } from '../jobs/fix-engine.js';
import { matchesInRuns } from '../lib/matches-in-runs.js';

/** Failing-test ids kept per run: enough to compare runs, bounded for a result row. */
const MAX_IDS = 500;

/**
 * Which tests failed, read from a runner's output. pytest (`FAILED path::test - why`, `ERROR
 * path::test`), unittest (`FAIL: test_x (module.Class)`), Go (`--- FAIL: TestX`) and Jest/Vitest
 * (`✕ name`, `FAIL path`) print one line per failing test; their ids are what runs are compared by.
 */
export function failedTests(output: string): string[] {
  const ids = new Set<string>();
  for (const line of output.split('\n')) {
    const text = line.trimEnd();
    const pytest = /^(?:FAILED|ERROR) (\S+?)(?: - .*)?$/.exec(text);
    if (pytest && (pytest[1]!.includes('::') || /\.py$/.test(pytest[1]!))) ids.add(pytest[1]!);
    const unittest = /^(?:FAIL|ERROR): (\w+) \(([\w.]+)\)/.exec(text);
    if (unittest) ids.add(`${unittest[2]}.${unittest[1]}`);
    const go = /^\s*--- FAIL: (\S+)/.exec(text);
    if (go) ids.add(go[1]!);
    const jest = /^\s*(?:✕|×) (.+?)(?: \(\d+ ?m?s\))?$/.exec(text);
    if (jest) ids.add(jest[1]!);
    if (ids.size >= MAX_IDS) break;
  }
  return [...ids];
}

/** How many tests passed, when the runner's summary says (pytest, Jest/Vitest, unittest's "Ran N"). */
export function passedCount(output: string): number | null {
  const pytest = [...output.matchAll(/(\d+) passed/g)].at(-1);
  if (pytest) return Number(pytest[1]);
  const jest = [...output.matchAll(/Tests:\s+(?:\d+ failed, )?(\d+) passed/g)].at(-1);
  if (jest) return Number(jest[1]);
  const ran = [...output.matchAll(/^Ran (\d+) tests?/gm)].at(-1);
  if (ran) return Math.max(0, Number(ran[1]) - failedTests(output).length);
  return null;
}

/** A test run as the result shows it. */
export function summarizeRun(command: string, run: { exitCode: number | null; seconds: number; outputTail: string }): FixTestRun {
  return {
    command,
    exitCode: run.exitCode,
    failed: run.exitCode === 0 ? [] : failedTests(run.outputTail),
    passed: passedCount(run.outputTail),
    seconds: run.seconds,
  };
}

/** Test ids a report names (`tests/test_x.py::test_y`, as pytest and CI logs print them). */
export function namedTests(description: string): string[] {
  const ids = new Set<string>();
  // Run by run, as readReport reads paths (over the whole text, 64 KB of path characters: 4 s).
  for (const match of matchesInRuns(description, /[\w./:[\]-]+/g, /[\w./-]+\.py::[\w.:[\]-]+/g, 400))
    ids.add(match[0].replace(/[.:]+$/, ''));
  return [...ids].slice(0, 50);
}

/**
 * Whether the run with the fix is acceptable next to the run before any edit: no test that passed
 * before fails now, and every required test (named by the report or the failed check) passes.
 * Returns the problems, each a sentence fit for the model; empty means acceptable.
 */
export function compareRuns(before: FixTestRun | null, after: FixTestRun, required: readonly string[]): string[] {
  if (after.exitCode === null) return [`The tests \`${after.command}\` were stopped before they finished.`];
  const problems: string[] = [];
  const matches = (id: string, wanted: string) => id === wanted || id.startsWith(`${wanted}[`) || id.endsWith(`/${wanted}`);
  const stillFailing = required.filter((wanted) => after.failed.some((id) => matches(id, wanted)));
  if (stillFailing.length) problems.push(`These tests must pass with the fix and still fail: ${stillFailing.join(', ')}.`);
  if (after.exitCode === 0) return problems;
  const beforeFailed = new Set(before?.failed ?? []);
  const broken = after.failed.filter((id) => !beforeFailed.has(id) && !required.some((wanted) => matches(id, wanted)));
  if (broken.length) problems.push(`These tests passed before the edits and fail with them: ${broken.slice(0, 20).join(', ')}.`);
  // Without ids the runs can only be compared by exit code: a suite that passed must still pass.
  if (!after.failed.length && (before === null || before.exitCode === 0))
    problems.push(`The tests \`${after.command}\` passed before the edits and fail with them (exit code ${after.exitCode}).`);
  return problems;
}

/**
 * Why a test command cannot run at all, read from its run before any edit; null when it ran (tests
 * passing or failing both count as running). Only signs that the runner itself is missing or
 * refused: the shell found no such command (127) or could not execute it (126), Python has no
 * module for the runner (`python3 -m pytest` without pytest), a module missing while no test
 * outcome was printed, or pytest's own usage error (4) or "no tests collected" (5). An import
 * error inside a collected test is not here: pytest reports it per test, and it may be the bug.
 */
export function whyTestsCannotRun(command: string, run: { exitCode: number | null; outputTail: string }): string | null {
  const { exitCode, outputTail: output } = run;
  if (exitCode === null || exitCode === 0) return null;
  if (exitCode === 127) return 'the command was not found (exit code 127)';
  if (exitCode === 126) return 'the command could not be executed (exit code 126)';
  const runner = /^\S*python[\d.]*: No module named (\S+)/m.exec(output);
  if (runner) return `Python has no module named ${runner[1]} (exit code ${exitCode})`;
  const missing = /ModuleNotFoundError: No module named '([^']+)'/.exec(output);
  if (missing && (missing[1] === 'pytest' || (failedTests(output).length === 0 && passedCount(output) === null)))
    return `no module named ${missing[1]} (exit code ${exitCode})`;
  if (/\bpytest\b/.test(command) || /^=+ .*(test session starts|no tests ran)/m.test(output)) {
    if (exitCode === 4) return 'pytest refused its arguments (exit code 4: usage error, such as a test path that does not exist)';
    if (exitCode === 5) return 'pytest collected no tests (exit code 5)';
  }
  return null;
}
