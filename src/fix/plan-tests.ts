import type { FixContext, FixRequest, FixTestRun, SandboxCommand } from '../jobs/fix-engine.js';
import type { Sandbox, SandboxDriver, SandboxLimits, SandboxRun } from '../sandbox/sandbox.js';
import type { SetupCache } from '../sandbox/setup-cache.js';
import { SANDBOX_DOCS } from '../sandbox/sandbox-docs.js';
import { prepareEnvironment } from './prepare-environment.js';
import type { RepoSettings } from './repo-settings.js';
import { sandboxCommand } from './sandbox-command.js';
import { summarizeRun } from './test-outcomes.js';

/** Where repository commands run. No driver: they do not run at all, and the checks say so. */
export interface FixSandbox {
  driver: SandboxDriver | null;
  /** Why there is no driver. */
  problem: string | null;
  cache: SetupCache | null;
  /** Images a repository may choose (container driver). */
  allowedImages: readonly string[];
}

/** The operator's side of the plan: limits every sandboxed command runs within. */
export interface PlanSettings {
  testTimeoutMs: number;
  /** The operator's limits for every sandboxed command (the wall time comes from testTimeoutMs or setupTimeoutMs). */
  sandboxLimits: Omit<SandboxLimits, 'timeoutMs'>;
  setupTimeoutMs: number;
  /** Network for `setup` (never for tests). */
  setupNetwork: boolean;
}

/** How commands run for this job: in which sandbox, with which limits, leaving which prepared paths alone. */
export interface TestPlan {
  command: string | undefined;
  sandbox: Sandbox | null;
  /** Why tests do not run although there is a command (no sandbox, setup failed). */
  skipped: string | null;
  /** Why no command can run at all (no sandbox); null when the sandbox is open. */
  noSandbox: string | null;
  /** The tests' limits; the agent's own commands take these with a shorter wall time. */
  limits: SandboxLimits;
  /** Paths setup made: outside every diff, kept when the work tree is reset. */
  keep: string[];
  record: (command: SandboxCommand) => Promise<void>;
}

/** The lower of the operator's limit and the repository's wish (in `unit`s), when it has one. */
export const lower = (operator: number, wanted: number | undefined, unit = 1) =>
  Math.min(operator, wanted === undefined ? Infinity : wanted * unit);

/**
 * Opens the job's sandbox when there is something to run (the repository's commands, or an agent
 * that runs its own), within the operator's limits (a repository may only lower them), and
 * prepares the environment its `setup` describes.
 */
export async function planTests(
  settings: PlanSettings,
  sandbox: FixSandbox,
  request: FixRequest,
  context: FixContext,
  worktree: string,
  repo: RepoSettings,
  options: { agent: boolean },
): Promise<TestPlan> {
  const command = request.testCommand ?? repo.test_command;
  const base = {
    memoryBytes: lower(settings.sandboxLimits.memoryBytes, repo.limits?.memory_mb, 1024 * 1024),
    processes: lower(settings.sandboxLimits.processes, repo.limits?.processes),
    diskBytes: lower(settings.sandboxLimits.diskBytes, repo.limits?.disk_mb, 1024 * 1024),
    outputTailBytes: lower(settings.sandboxLimits.outputTailBytes, repo.limits?.output_kb, 1024),
    maxOutputBytes: settings.sandboxLimits.maxOutputBytes,
  };
  const limits = { ...base, timeoutMs: lower(settings.testTimeoutMs, repo.test_timeout_s, 1000) };
  const record = async (c: SandboxCommand) => {
    await context.recordCommand?.(c);
  };
  const plan: TestPlan = { command, sandbox: null, skipped: null, noSandbox: null, limits, keep: [], record };
  if (!command && !repo.setup && !options.agent) return plan;
  const driver = sandbox.driver;
  if (!driver) {
    plan.noSandbox = `no sandbox (${sandbox.problem ?? 'none configured'}; see ${SANDBOX_DOCS})`;
    plan.skipped = plan.noSandbox;
    return plan;
  }
  const image = repo.image && sandbox.allowedImages.includes(repo.image) ? repo.image : undefined;
  if (repo.image && !image)
    context.log.warn({ image: repo.image }, '.github/kodah.yml names an image the operator does not allow; using the default');
  plan.sandbox = await driver.open(worktree, { image });
  if (!repo.setup) return plan;
  try {
    await context.report('setup', 24);
    const prepared = await prepareEnvironment(plan.sandbox, worktree, sandbox.cache, {
      setup: repo.setup,
      cacheKeyFiles: repo.setup_cache_key ?? [],
      repoUrl: request.repoUrl,
      accountId: request.accountId,
      image,
      limits: { ...base, timeoutMs: lower(settings.setupTimeoutMs, repo.setup_timeout_s, 1000) },
      network: settings.setupNetwork,
      signal: context.signal,
    });
    await record(prepared.command);
    context.signal.throwIfAborted();
    plan.keep = prepared.paths;
    if (!prepared.ok) {
      const why = prepared.command.limit ? `stopped at the ${prepared.command.limit} limit` : `exit code ${prepared.command.exitCode}`;
      plan.skipped = `setup failed (${why}); see the commands of this job`;
    }
    return plan;
  } catch (err) {
    // The caller closes the sandbox of a plan it got; this one it never gets.
    await plan.sandbox.close();
    throw err;
  }
}

/**
 * Runs the repository's tests in the plan's sandbox (the caller checked there is a command and a
 * sandbox), records the command for the job, and reads which tests failed.
 */
export async function runTests(plan: TestPlan, signal: AbortSignal): Promise<{ run: SandboxRun; summary: FixTestRun }> {
  const command = plan.command!;
  const run = await plan.sandbox!.run(command, { limits: plan.limits, signal });
  await plan.record(sandboxCommand('tests', plan.sandbox!, run));
  signal.throwIfAborted();
  return { run, summary: summarizeRun(command, run) };
}
