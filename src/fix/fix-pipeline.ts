import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import parseDiff from 'parse-diff';
import { localGit } from '../git/git-objects.js';
import type { FactsCache } from '../localize/facts-cache.js';
import { localize } from '../localize/localize.js';
import type { GitCredentials } from '../git/credentials.js';
import type { RepoUrlPolicy } from '../git/url-policy.js';
import type { FixCheck, FixContext, FixEngine, FixRequest, FixResult, SandboxCommand } from '../jobs/fix-engine.js';
import { KodahError } from '../lib/errors.js';
import type { ChatMessage, ChatModel } from '../llm/chat-model.js';
import { UsageMeter } from '../llm/usage.js';
import { applyEdits } from './apply-edits.js';
import { buildContext, CONTEXT_LOCALIZE } from './build-context.js';
import { newSyntaxErrors } from './check-syntax.js';
import { addWorktree, openMirror } from '../git/checkout.js';
import { checkDiffPolicy } from './diff-policy.js';
import { parseEdits } from './parse-edits.js';
import { feedbackMessage, firstMessages } from './prompts.js';
import { keepOut, prepareEnvironment } from './prepare-environment.js';
import { sandboxCommand } from './sandbox-command.js';
import { type RepoSettings, readRepoSettings } from './repo-settings.js';
import type { Sandbox, SandboxDriver, SandboxLimits } from '../sandbox/sandbox.js';
import type { SetupCache } from '../sandbox/setup-cache.js';
import { SANDBOX_DOCS } from '../sandbox/sandbox-docs.js';
import { safeTarget } from './safe-path.js';
import { StageTimer } from './stage-timer.js';

export interface FixSettings {
  policy: RepoUrlPolicy;
  mirrorDir: string;
  worktreeDir: string;
  gitTimeoutMs: number;
  maxRepoBytes: number;
  maxFiles: number;
  maxAttempts: number;
  contextTokens: number;
  testTimeoutMs: number;
  /** The operator's limits for every sandboxed command (the wall time comes from testTimeoutMs or setupTimeoutMs). */
  sandboxLimits: Omit<SandboxLimits, 'timeoutMs'>;
  setupTimeoutMs: number;
  /** Network for `setup` (never for tests). */
  setupNetwork: boolean;
}

/** Where repository commands run. No driver: they do not run at all, and the checks say so. */
export interface FixSandbox {
  driver: SandboxDriver | null;
  /** Why there is no driver. */
  problem: string | null;
  cache: SetupCache | null;
  /** Images a repository may choose (container driver). */
  allowedImages: readonly string[];
}

export interface FixPipelineDeps {
  model: ChatModel;
  credentials: GitCredentials;
  settings: FixSettings;
  /** Localization's per-blob facts, kept across jobs: the next job at a commit reads no blob twice. */
  localizeCache: FactsCache;
  sandbox: FixSandbox;
}

/** What one answer of the model came to: a diff that passed every check, or why not. */
type Attempt =
  | { ok: true; diff: string; explanation: string; files: string[]; checks: FixCheck[] }
  | { ok: false; problems: string[]; testOutput?: string };

/** How tests run for this job: in which sandbox, with which limits, leaving which prepared paths alone. */
interface TestPlan {
  command: string | undefined;
  sandbox: Sandbox | null;
  /** Why tests do not run although there is a command (no sandbox, setup failed). */
  skipped: string | null;
  limits: SandboxLimits;
  /** Paths setup made: outside every diff, kept when the work tree is reset. */
  keep: string[];
  record: (command: SandboxCommand) => Promise<void>;
}

/** The fix engine: checkout → localize → context → generate → apply → validate, retried with the evidence. */
export function createFixEngine(deps: FixPipelineDeps): FixEngine {
  return { fix: (request, context) => runFixPipeline(deps, request, context) };
}

/** The CLI runs the pipeline on a repository on disk: no URL, no mirror. */
export type LocalFixRequest = FixRequest & { localGitDir?: string };

export async function runFixPipeline(deps: FixPipelineDeps, request: LocalFixRequest, context: FixContext): Promise<FixResult> {
  const { settings, model } = deps;
  const { signal } = context;
  const timer = new StageTimer();
  const meter = new UsageMeter();
  const started = performance.now();

  await context.report('checkout', 10);
  const token = request.visibility === 'private' ? await deps.credentials.tokenFor(request.repoUrl, request.accountId) : null;
  const options = {
    policy: settings.policy,
    mirrorDir: settings.mirrorDir,
    worktreeDir: settings.worktreeDir,
    token,
    timeoutMs: settings.gitTimeoutMs,
    maxRepoBytes: settings.maxRepoBytes,
    maxFiles: settings.maxFiles,
    signal,
  };
  const gitDir = await timer.time('checkout', () =>
    openMirror(request.localGitDir ? { gitDir: request.localGitDir } : { url: request.repoUrl }, request.commitSha, options),
  );
  // Localizing reads the mirror, not the work tree: both run at once.
  await context.report('localize', 20);
  const adding = timer.time('checkout', () => addWorktree(gitDir, request.commitSha, options));
  const localizing = timer.time('localize', () =>
    localize(gitDir, request.commitSha, request.description, { cache: deps.localizeCache, ...CONTEXT_LOCALIZE }),
  );
  const [added, localized] = await Promise.allSettled([adding, localizing]);
  if (added.status === 'rejected') throw added.reason;
  const tree = added.value;
  let plan: TestPlan | null = null;
  try {
    if (localized.status === 'rejected') throw localized.reason;
    const repoSettings = await readRepoSettings(tree.dir);
    for (const problem of repoSettings.problems) context.log.warn(problem);
    plan = await planTests(deps, request, context, tree.dir, repoSettings);

    await context.report('context', 25);
    const code = await timer.time('context', () => buildContext(tree.dir, localized.value, settings.contextTokens));
    if (code.files.length === 0)
      throw new KodahError('job_failed', 'No code in the repository relates to the description', { kind: 'input' });

    const messages: ChatMessage[] = firstMessages(request.description, code.text);
    const tried: string[] = [];
    for (let attempt = 1; attempt <= settings.maxAttempts; attempt++) {
      signal.throwIfAborted();
      await context.report(
        attempt === 1 ? 'generate' : `generate (attempt ${attempt})`,
        30 + Math.round((50 * (attempt - 1)) / settings.maxAttempts),
      );
      const answer = await timer.time('generate', () => model.complete(messages, { signal }));
      meter.add(answer);
      messages.push({ role: 'assistant', content: answer.content });

      await context.report('apply', 30 + Math.round((50 * attempt) / settings.maxAttempts) - 5);
      const outcome = await tryAnswer(tree, answer.content, plan, timer, signal);
      if (outcome.ok) {
        const usage = meter.totals;
        return {
          diff: outcome.diff,
          explanation: outcome.explanation,
          filesChanged: outcome.files,
          usage: { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, costUsd: usage.costUsd },
          checks: outcome.checks,
          attempts: attempt,
          // Stages overlap (the work tree is added while localizing): `total` is the wall time.
          stageSeconds: { ...timer.seconds(), total: Math.round(performance.now() - started) / 1000 },
        };
      }
      tried.push(`attempt ${attempt}: ${outcome.problems.join(' ')}`);
      context.log.info({ attempt, problems: outcome.problems }, 'fix attempt rejected');
      await resetWorktree(tree.dir, plan.keep);
      messages.push(feedbackMessage(outcome.problems, outcome.testOutput));
    }
    throw new KodahError('job_failed', `No valid fix within ${settings.maxAttempts} attempts. ${tried.join(' ').slice(0, 2000)}`, {
      kind: 'input',
    });
  } finally {
    await plan?.sandbox?.close();
    await tree.remove();
  }
}

/**
 * Opens the job's sandbox when the repository has commands to run, within the operator's limits
 * (a repository may only lower them), and prepares the environment its `setup` describes.
 */
async function planTests(
  deps: FixPipelineDeps,
  request: LocalFixRequest,
  context: FixContext,
  worktree: string,
  repo: RepoSettings,
): Promise<TestPlan> {
  const { settings } = deps;
  const command = request.testCommand ?? repo.test_command;
  const lower = (operator: number, wanted: number | undefined, unit: number) =>
    Math.min(operator, wanted === undefined ? Infinity : wanted * unit);
  const base = {
    memoryBytes: lower(settings.sandboxLimits.memoryBytes, repo.limits?.memory_mb, 1024 * 1024),
    processes: lower(settings.sandboxLimits.processes, repo.limits?.processes, 1),
    diskBytes: lower(settings.sandboxLimits.diskBytes, repo.limits?.disk_mb, 1024 * 1024),
    outputTailBytes: lower(settings.sandboxLimits.outputTailBytes, repo.limits?.output_kb, 1024),
    maxOutputBytes: settings.sandboxLimits.maxOutputBytes,
  };
  const limits = { ...base, timeoutMs: lower(settings.testTimeoutMs, repo.test_timeout_s, 1000) };
  const record = async (c: SandboxCommand) => {
    await context.recordCommand?.(c);
  };
  const plan: TestPlan = { command, sandbox: null, skipped: null, limits, keep: [], record };
  if (!command && !repo.setup) return plan;
  const driver = deps.sandbox.driver;
  if (!driver) {
    plan.skipped = `no sandbox (${deps.sandbox.problem ?? 'none configured'}; see ${SANDBOX_DOCS})`;
    return plan;
  }
  const image = repo.image && deps.sandbox.allowedImages.includes(repo.image) ? repo.image : undefined;
  if (repo.image && !image)
    context.log.warn({ image: repo.image }, '.github/kodah.yml names an image the operator does not allow; using the default');
  plan.sandbox = await driver.open(worktree, { image });
  if (!repo.setup) return plan;
  try {
    await context.report('setup', 24);
    const prepared = await prepareEnvironment(plan.sandbox, worktree, deps.sandbox.cache, {
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

async function tryAnswer(
  tree: { gitDir: string; dir: string; commit: string },
  answer: string,
  test: TestPlan,
  timer: StageTimer,
  signal: AbortSignal,
): Promise<Attempt> {
  let parsed: ReturnType<typeof parseEdits>;
  try {
    parsed = parseEdits(answer);
  } catch (err) {
    return { ok: false, problems: [(err as Error).message] };
  }
  if (parsed.edits.length === 0) return { ok: false, problems: ['The answer has no edit blocks.'] };

  const targets = new Map<string, string>();
  const unsafe: string[] = [];
  for (const edit of parsed.edits) {
    if (targets.has(edit.path)) continue;
    const target = await safeTarget(tree.dir, edit.path);
    if ('problem' in target) unsafe.push(target.problem);
    else targets.set(edit.path, target.path);
  }
  if (unsafe.length) return { ok: false, problems: [...new Set(unsafe)] };

  const applied = await timer.time('apply', async () => {
    const current = new Map<string, string | null>();
    for (const [file, target] of targets) current.set(file, await readFile(target, 'utf8').catch(() => null));
    return applyEdits(current, parsed.edits);
  });
  if (applied.failures.length) return { ok: false, problems: applied.failures.map((f) => f.message) };

  return timer.time('validate', async () => {
    for (const [file, content] of applied.files) {
      const target = targets.get(file)!;
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, content);
    }
    // The work tree has its own index: staging everything makes new files part of the diff.
    await localGit(path.join(tree.dir, '.git'), ['--work-tree', tree.dir, 'add', '-A', '--', '.', ...keepOut(test.keep).pathspecs]);
    const diff = await localGit(path.join(tree.dir, '.git'), [
      '--work-tree',
      tree.dir,
      'diff',
      '--cached',
      '--binary',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
    ]);
    const policy = checkDiffPolicy(diff);
    if (policy.length) return { ok: false, problems: policy };
    const files = parseDiff(diff).map((f) => (f.to && f.to !== '/dev/null' ? f.to : f.from!));
    const syntax = await newSyntaxErrors(tree.gitDir, tree.commit, tree.dir, files);
    if (syntax.length) return { ok: false, problems: syntax };
    const checks: FixCheck[] = [
      { name: 'diff_policy', outcome: 'passed' },
      { name: 'syntax', outcome: 'passed' },
    ];
    const testCommand = test.command;
    if (!testCommand) {
      checks.push({ name: 'tests', outcome: 'skipped', detail: 'no test_command in .github/kodah.yml' });
    } else if (!test.sandbox || test.skipped) {
      checks.push({ name: 'tests', outcome: 'skipped', detail: `skipped: ${test.skipped ?? 'no sandbox'}` });
    } else {
      const run = await test.sandbox.run(testCommand, { limits: test.limits, signal });
      await test.record(sandboxCommand('tests', test.sandbox, run));
      signal.throwIfAborted();
      if (run.exitCode !== 0) {
        const why = run.limit
          ? run.limit === 'time'
            ? `did not finish within ${test.limits.timeoutMs / 1000} s`
            : `was stopped at the sandbox's ${run.limit} limit`
          : `failed (exit code ${run.exitCode})`;
        return {
          ok: false,
          problems: [`The test command \`${testCommand}\` ${why} with these edits.`],
          testOutput: run.outputTail.slice(-4000),
        };
      }
      checks.push({ name: 'tests', outcome: 'passed', detail: `${testCommand} (${run.seconds} s, ${test.sandbox.driver} sandbox)` });
    }
    return { ok: true, diff, explanation: parsed.explanation, files, checks };
  });
}

/** Back to the commit, for the next answer: tracked files restored, new and ignored ones removed, the prepared environment kept. */
async function resetWorktree(dir: string, keep: readonly string[]): Promise<void> {
  const gitDir = path.join(dir, '.git');
  await localGit(gitDir, ['--work-tree', dir, 'reset', '--hard', '--quiet']);
  await localGit(gitDir, ['--work-tree', dir, 'clean', '-fdxq', ...keepOut(keep).cleanExcludes]);
}
