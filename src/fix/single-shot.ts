import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FixContext } from '../jobs/fix-engine.js';
import { KodahError } from '../lib/errors.js';
import type { ChatMessage, ChatModel } from '../llm/chat-model.js';
import type { UsageMeter } from '../llm/usage.js';
import { applyEdits } from './apply-edits.js';
import { parseEdits } from './parse-edits.js';
import type { TestPlan } from './plan-tests.js';
import { feedbackMessage, firstMessages } from './prompts.js';
import { resetWorktree } from './reset-worktree.js';
import { safeTarget } from './safe-path.js';
import type { StageTimer } from './stage-timer.js';
import { type ValidateOptions, type Validation, validateWorktree, type Worktree } from './validate-worktree.js';

export interface SingleShotRun {
  model: ChatModel;
  tree: Worktree;
  plan: TestPlan;
  description: string;
  code: string;
  maxAttempts: number;
  meter: UsageMeter;
  timer: StageTimer;
  context: FixContext;
  tests: Pick<ValidateOptions, 'before' | 'required'>;
}

/**
 * The fallback for models without tool calling: the model answers with SEARCH/REPLACE blocks, Kodah
 * applies and checks them, and sends the failures back for another answer, up to `maxAttempts`.
 */
export async function runSingleShot(
  run: SingleShotRun,
): Promise<{ validation: Extract<Validation, { ok: true }>; explanation: string; attempts: number }> {
  const { model, tree, plan, context, timer } = run;
  const { signal } = context;
  const messages: ChatMessage[] = firstMessages(run.description, run.code);
  const tried: string[] = [];
  let lastOutput: string | undefined;
  for (let attempt = 1; attempt <= run.maxAttempts; attempt++) {
    signal.throwIfAborted();
    await context.report(
      attempt === 1 ? 'generate' : `generate (attempt ${attempt})`,
      30 + Math.round((50 * (attempt - 1)) / run.maxAttempts),
    );
    const answer = await timer.time('generate', () => model.complete(messages, { signal }));
    run.meter.add(answer);
    messages.push({ role: 'assistant', content: answer.content });

    await context.report('apply', 30 + Math.round((50 * attempt) / run.maxAttempts) - 5);
    const outcome = await tryAnswer(run, answer.content);
    if (outcome.ok) return { validation: outcome.validation, explanation: outcome.explanation, attempts: attempt };
    tried.push(`attempt ${attempt}: ${outcome.problems.join(' ')}`);
    if (outcome.testOutput) lastOutput = outcome.testOutput;
    context.log.info({ attempt, problems: outcome.problems }, 'fix attempt rejected');
    await resetWorktree(tree.dir, plan.keep);
    messages.push(feedbackMessage(outcome.problems, outcome.testOutput));
  }
  throw new KodahError('no_fix', nothingPassed(run.maxAttempts, tried, lastOutput), { kind: 'input' });
}

/** What was tried, for a job whose answers all failed: each attempt's problems and the end of the last test output. */
export function nothingPassed(attempts: number, tried: readonly string[], lastOutput: string | undefined): string {
  const output = lastOutput?.trim();
  return [
    `No valid fix within ${attempts === 1 ? '1 attempt' : `${attempts} attempts`}: `,
    `the model answered ${attempts === 1 ? 'once' : `${attempts} times`} with edits, `,
    'and none passed the checks. What each answer was rejected for: ',
    tried.join(' ').slice(0, 2000),
    output ? `\nThe last test output ended:\n${output.slice(-800)}` : '',
  ].join('');
}

async function tryAnswer(
  run: SingleShotRun,
  answer: string,
): Promise<
  { ok: true; validation: Extract<Validation, { ok: true }>; explanation: string } | { ok: false; problems: string[]; testOutput?: string }
> {
  const { tree, timer } = run;
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
    // A single answer writes only the fix: every new file is part of it.
    const validation = await validateWorktree(tree, run.plan, { signal: run.context.signal, ...run.tests, untracked: 'all' });
    if (!validation.ok) return { ok: false, problems: validation.problems, testOutput: validation.testOutput };
    return { ok: true, validation, explanation: parsed.explanation };
  });
}
