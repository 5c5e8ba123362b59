import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import parseDiff from 'parse-diff';
import { localGit } from '../git/git-objects.js';
import type { FactsCache } from '../localize/facts-cache.js';
import { localize } from '../localize/localize.js';
import type { GitCredentials } from '../git/credentials.js';
import type { RepoUrlPolicy } from '../git/url-policy.js';
import type { FixCheck, FixContext, FixEngine, FixRequest, FixResult } from '../jobs/fix-engine.js';
import { KodahError } from '../lib/errors.js';
import type { ChatMessage, ChatModel } from '../llm/chat-model.js';
import { UsageMeter } from '../llm/usage.js';
import { applyEdits } from './apply-edits.js';
import { buildContext } from './build-context.js';
import { newSyntaxErrors } from './check-syntax.js';
import { addWorktree, openMirror } from '../git/checkout.js';
import { checkDiffPolicy } from './diff-policy.js';
import { parseEdits } from './parse-edits.js';
import { feedbackMessage, firstMessages } from './prompts.js';
import { readRepoSettings } from './repo-settings.js';
import { runTestCommand } from './run-test-command.js';
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
}

export interface FixPipelineDeps {
  model: ChatModel;
  credentials: GitCredentials;
  settings: FixSettings;
  /** Localization's per-blob facts, kept across jobs: the next job at a commit reads no blob twice. */
  localizeCache: FactsCache;
}

/** What one answer of the model came to: a diff that passed every check, or why not. */
type Attempt =
  | { ok: true; diff: string; explanation: string; files: string[]; checks: FixCheck[] }
  | { ok: false; problems: string[]; testOutput?: string };

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
    localize(gitDir, request.commitSha, request.description, { cache: deps.localizeCache, files: 10, snippets: 20 }),
  );
  const [added, localized] = await Promise.allSettled([adding, localizing]);
  if (added.status === 'rejected') throw added.reason;
  const tree = added.value;
  try {
    if (localized.status === 'rejected') throw localized.reason;
    const repoSettings = await readRepoSettings(tree.dir);
    for (const problem of repoSettings.problems) context.log.warn(problem);
    const testCommand = request.testCommand ?? repoSettings.test_command;
    // The repository may ask for less time than the operator allows, never more.
    const testTimeoutMs = Math.min(settings.testTimeoutMs, (repoSettings.test_timeout_s ?? Infinity) * 1000);

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
      const outcome = await tryAnswer(tree, answer.content, { command: testCommand, timeoutMs: testTimeoutMs }, timer, signal);
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
      await resetWorktree(tree.dir);
      messages.push(feedbackMessage(outcome.problems, outcome.testOutput));
    }
    throw new KodahError('job_failed', `No valid fix within ${settings.maxAttempts} attempts. ${tried.join(' ').slice(0, 2000)}`, {
      kind: 'input',
    });
  } finally {
    await tree.remove();
  }
}

async function tryAnswer(
  tree: { gitDir: string; dir: string; commit: string },
  answer: string,
  test: { command: string | undefined; timeoutMs: number },
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
    await localGit(path.join(tree.dir, '.git'), ['--work-tree', tree.dir, 'add', '-A']);
    const diff = await localGit(path.join(tree.dir, '.git'), [
      '--work-tree',
      tree.dir,
      'diff',
      '--cached',
      '--binary',
      '--no-color',
      '--no-ext-diff',
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
    } else {
      const tests = await runTestCommand(tree.dir, testCommand, test.timeoutMs, signal);
      signal.throwIfAborted();
      if (tests.outcome !== 'passed') {
        const why =
          tests.outcome === 'timeout' ? `did not finish within ${test.timeoutMs / 1000} s` : `failed (exit code ${tests.exitCode})`;
        return {
          ok: false,
          problems: [`The test command \`${testCommand}\` ${why} with these edits.`],
          testOutput: tests.outputTail.slice(-4000),
        };
      }
      checks.push({ name: 'tests', outcome: 'passed', detail: `${testCommand} (${tests.seconds} s)` });
    }
    return { ok: true, diff, explanation: parsed.explanation, files, checks };
  });
}

/** Back to the commit, for the next answer: tracked files restored, new and ignored ones removed. */
async function resetWorktree(dir: string): Promise<void> {
  const gitDir = path.join(dir, '.git');
  await localGit(gitDir, ['--work-tree', dir, 'reset', '--hard', '--quiet']);
  await localGit(gitDir, ['--work-tree', dir, 'clean', '-fdxq']);
}
