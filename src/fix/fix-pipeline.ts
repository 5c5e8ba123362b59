import { localize } from '../localize/localize.js';
import type { FactsCache } from '../localize/facts-cache.js';
import type { GitCredentials } from '../git/credentials.js';
import type { RepoUrlPolicy } from '../git/url-policy.js';
import type { FixContext, FixEngine, FixRequest, FixResult, FixTestRun } from '../jobs/fix-engine.js';
import { KodahError } from '../lib/errors.js';
import type { ChatModel } from '../llm/chat-model.js';
import { supportsTools } from '../llm/tool-support.js';
import { UsageMeter } from '../llm/usage.js';
import { buildContext, CONTEXT_LOCALIZE } from './build-context.js';
import { addWorktree, openMirror } from '../git/checkout.js';
import { type FixSandbox, lower, type PlanSettings, planTests, runTests, type TestPlan } from './plan-tests.js';
import { type RepoSettings, readRepoSettings } from './repo-settings.js';
import { runCandidates } from './run-candidates.js';
import { runSingleShot } from './single-shot.js';
import { StageTimer } from './stage-timer.js';
import { examplePackage, showsCode, traceExamples } from './trace-examples.js';
import { sandboxCommand } from './sandbox-command.js';
import { resetWorktree } from './reset-worktree.js';
import type { Localization } from '../localize/localize.js';
import { languageOf } from '../code/tree-sitter.js';
import { namedTests, whyTestsCannotRun } from './test-outcomes.js';

export type { FixSandbox } from './plan-tests.js';

export interface FixSettings extends PlanSettings {
  policy: RepoUrlPolicy;
  mirrorDir: string;
  worktreeDir: string;
  gitTimeoutMs: number;
  maxRepoBytes: number;
  maxFiles: number;
  /** Single-shot answers per job. */
  maxAttempts: number;
  contextTokens: number;
  /** `auto`: the agent when the model takes tools (asked once per model), else single-shot. */
  mode: 'agent' | 'single-shot' | 'auto';
  candidates: number;
  /** The agent's budgets for the job; a repository may only lower them. */
  budget: { steps: number; tokens: number; costUsd: number; timeS: number; commandTimeoutS: number };
}

export interface FixPipelineDeps {
  model: ChatModel;
  credentials: GitCredentials;
  settings: FixSettings;
  /** Localization's per-blob facts, kept across jobs: the next job at a commit reads no blob twice. */
  localizeCache: FactsCache;
  sandbox: FixSandbox;
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
    const mode = await chooseMode(deps, context);
    plan = await planTests(settings, deps.sandbox, request, context, tree.dir, repoSettings, { agent: mode === 'agent' });
    const located = await timer.time('examples', () => locateByExamples(deps, request, gitDir, tree.dir, plan!, localized.value, context));

    await context.report('context', 25);
    const code = await timer.time('context', () => buildContext(tree.dir, located, settings.contextTokens));
    if (code.files.length === 0)
      throw new KodahError('job_failed', 'No code in the repository relates to the description', { kind: 'input' });

    const required = namedTests(request.description);
    const before = await timer.time('tests before', () => testsBefore(plan!, context));
    const finish = (fix: Omit<FixResult, 'usage' | 'stageSeconds' | 'mode' | 'tests'>, after: FixTestRun | null): FixResult => {
      const usage = meter.totals;
      return {
        ...fix,
        mode,
        usage: { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, costUsd: usage.costUsd },
        ...(plan!.command && { tests: { before, after } }),
        // Stages overlap (the work tree is added while localizing): `total` is the wall time.
        stageSeconds: { ...timer.seconds(), total: Math.round(performance.now() - started) / 1000 },
      };
    };

    if (mode === 'single-shot') {
      const shot = await runSingleShot({
        model,
        tree,
        plan,
        description: request.description,
        code: code.text,
        maxAttempts: settings.maxAttempts,
        meter,
        timer,
        context,
        tests: { before, required },
      });
      const { diff, files, checks, after } = shot.validation;
      return finish({ diff, explanation: shot.explanation, filesChanged: files, checks, attempts: shot.attempts }, after);
    }

    const budget = agentBudget(settings.budget, repoSettings);
    const agent = await timer.time('agent', () =>
      runCandidates({
        model,
        tree,
        plan: plan!,
        description: request.description,
        code: code.text,
        candidates: settings.candidates,
        budget,
        meter,
        localizeCache: deps.localizeCache,
        context,
        before,
        required,
      }),
    );
    const { diff, files, checks, after } = agent.winner.validation;
    return finish(
      {
        diff,
        explanation: agent.winner.explanation,
        filesChanged: files,
        checks,
        attempts: agent.candidates.tried,
        steps: agent.steps,
        candidates: agent.candidates,
      },
      after,
    );
  } finally {
    await plan?.sandbox?.close();
    await tree.remove();
  }
}

/**
 * The localization again with what the report's examples ran, when the job has a sandbox, the
 * code it was localized to is Python and the report shows code: the functions a reporter's
 * example calls are where most fixes go, and a lexical ranking misses them when the report and
 * the code use different words. Without any of these, or an answer, the first localization
 * stands. The examples may have written anything in the work tree: it is reset to the commit
 * after them, the prepared environment kept.
 */
async function locateByExamples(
  deps: FixPipelineDeps,
  request: FixRequest,
  gitDir: string,
  worktree: string,
  plan: TestPlan,
  localized: Localization,
  context: FixContext,
): Promise<Localization> {
  const python = localized.files.some((f) => languageOf(f.path) === 'python');
  if (!plan.sandbox || !python || !showsCode(request.description)) return localized;
  await context.report('examples', 24);
  const name = request.repoUrl.replace(/\/+$/, '').split('/').at(-1) ?? '';
  const traced = await traceExamples(plan.sandbox, request.description, {
    package: await examplePackage(worktree, name),
    limits: plan.limits,
    signal: context.signal,
  });
  await resetWorktree(worktree, plan.keep);
  // No statement found (the fences held another language): nothing of the report ran.
  if (!traced || (traced.statements === 0 && traced.run.exitCode === 0)) return localized;
  await plan.record(sandboxCommand('examples', plan.sandbox, traced.run));
  context.signal.throwIfAborted();
  if (traced.executed.size === 0 && traced.raised.length === 0) return localized;
  context.log.info(
    { statements: traced.statements, ran: traced.ran, files: traced.executed.size, raised: traced.raised.length },
    "the report's examples ran",
  );
  return localize(gitDir, request.commitSha, request.description, {
    cache: deps.localizeCache,
    ...CONTEXT_LOCALIZE,
    executed: traced.executed,
    raised: traced.raised,
  });
}

/** The agent when it can work; single-shot when the operator says so or the model has no tools. */
async function chooseMode(deps: FixPipelineDeps, context: FixContext): Promise<'agent' | 'single-shot'> {
  const wanted = deps.settings.mode;
  if (wanted !== 'auto') return wanted;
  const tools = await supportsTools(deps.model, context.signal);
  if (!announced.has(deps.model)) {
    announced.add(deps.model);
    context.log.info(
      { model: deps.model.name, mode: tools ? 'agent' : 'single-shot' },
      tools ? 'the model calls tools: fixing with the agent' : 'the model takes no tools: fixing single-shot',
    );
  }
  return tools ? 'agent' : 'single-shot';
}

/** Models whose mode was logged: `auto` decides once per model, and says so once. */
const announced = new WeakSet<ChatModel>();

/** The operator's budgets, lowered where the repository asks. */
function agentBudget(operator: FixSettings['budget'], repo: RepoSettings) {
  const wanted = repo.budget;
  return {
    steps: lower(operator.steps, wanted?.steps),
    tokens: lower(operator.tokens, wanted?.tokens),
    costUsd: lower(operator.costUsd, wanted?.cost_usd),
    timeMs: lower(operator.timeS, wanted?.time_s) * 1000,
    commandTimeoutMs: lower(operator.commandTimeoutS, wanted?.command_timeout_s) * 1000,
  };
}

/** Test output quoted in a failure: the end, where the reason is. */
const QUOTED_OUTPUT_CHARS = 1500;

/**
 * The repository's tests once before any edit: what fails already is not the fix's fault. Tests
 * that cannot run at all (no such command, no pytest, no tests collected) or cannot finish can
 * prove no fix, so the job ends here, before the model spends anything, with the output that says
 * why: the person reads `No module named pytest`, not only the model.
 */
async function testsBefore(plan: TestPlan, context: FixContext): Promise<FixTestRun | null> {
  if (!plan.command || !plan.sandbox || plan.skipped) return null;
  await context.report('tests before the fix', 27);
  const { run, summary } = await runTests(plan, context.signal);
  const why = run.limit
    ? run.limit === 'time'
      ? `did not finish within ${plan.limits.timeoutMs / 1000} s`
      : `was stopped at the sandbox's ${run.limit} limit`
    : whyTestsCannotRun(plan.command, run);
  if (!why) return summary;
  const output = run.outputTail.trim();
  const quoted = output.length > QUOTED_OUTPUT_CHARS ? `[…]${output.slice(-QUOTED_OUTPUT_CHARS)}` : output;
  throw new KodahError(
    'no_fix',
    `The tests could not run before any edit, so no fix could be proven and the model was not asked for one: ` +
      `the test command \`${plan.command}\` ${run.limit ? why : `failed: ${why}`}. ` +
      (quoted ? `Its output ended:\n${quoted}\n` : 'It printed nothing. ') +
      'Install what the tests need with `setup` in .github/kodah.yml (the sandbox has no network for tests), ' +
      'or change test_command or test_timeout_s there.',
    { kind: 'input' },
  );
}
