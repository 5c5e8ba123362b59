import parseDiff from 'parse-diff';
import type { FixCandidates, FixContext, FixStep, FixTestRun } from '../jobs/fix-engine.js';
import { KodahError } from '../lib/errors.js';
import type { ChatModel } from '../llm/chat-model.js';
import type { UsageMeter } from '../llm/usage.js';
import type { FactsCache } from '../localize/facts-cache.js';
import { type AgentBudget, type AgentOutcome, runAgent } from './agent-loop.js';
import { agentMessages } from './agent-prompts.js';
import type { AgentWorkspace } from './agent-tools.js';
import type { TestPlan } from './plan-tests.js';
import { resetWorktree } from './reset-worktree.js';
import { validateWorktree, type Worktree } from './validate-worktree.js';

export interface CandidatesRun {
  model: ChatModel;
  tree: Worktree;
  plan: TestPlan;
  description: string;
  code: string;
  candidates: number;
  /** For the whole job: the time is shared out among the candidates still to run. */
  budget: AgentBudget & { commandTimeoutMs: number };
  meter: UsageMeter;
  localizeCache: FactsCache;
  context: FixContext;
  before: FixTestRun | null;
  required: readonly string[];
}

type Won = Extract<AgentOutcome, { ok: true }> & { candidate: number };

/** Steps kept in the result; the events endpoint has had them all as they happened. */
const MAX_RESULT_STEPS = 300;
/** Test-like file names: a new one the agent writes is a reproduction test. */
const TEST_FILE = /(^|\/)(test_[^/]*\.py|[^/]*_test\.(py|go)|[^/]*\.(test|spec)\.[jt]sx?)$/;

/**
 * Runs `candidates` independent agent runs on the same work tree, one after another (reset in
 * between), and picks the winner: the most passing tests, then the smallest diff.
 */
export async function runCandidates(run: CandidatesRun) {
  const { context, tree, plan } = run;
  const started = Date.now();
  const steps: FixStep[] = [];
  const won: Won[] = [];
  const failures: Array<{ candidate: number; outcome: Extract<AgentOutcome, { ok: false }>; ws: AgentWorkspace }> = [];
  let n = 0;
  for (let candidate = 1; candidate <= run.candidates; candidate++) {
    if (candidate > 1) await resetWorktree(tree.dir, plan.keep);
    const timeLeft = run.budget.timeMs - (Date.now() - started);
    if (timeLeft < 1000) break;
    const ws: AgentWorkspace = {
      tree,
      plan,
      localizeCache: run.localizeCache,
      commandTimeoutMs: run.budget.commandTimeoutMs,
      deadline: Date.now() + Math.floor(timeLeft / (run.candidates - candidate + 1)),
      signal: context.signal,
      created: new Set(),
      viewed: new Set(),
      lastOutput: null,
    };
    const outcome = await runAgent({
      model: run.model,
      messages: agentMessages(run.description, run.code, run.before, run.required),
      ws,
      budget: { ...run.budget, timeMs: ws.deadline - Date.now() },
      candidate,
      meter: run.meter,
      log: context.log.child({ candidate }),
      validate: () =>
        validateWorktree(tree, plan, {
          signal: context.signal,
          before: run.before,
          required: run.required,
          untracked: ws.created,
          reproductions: [...ws.created].filter((file) => TEST_FILE.test(file)),
        }),
      onStep: async (step) => {
        const recorded = { ...step, n: ++n };
        steps.push(recorded);
        await context.recordStep?.(recorded);
        const label = `step ${recorded.n}: ${recorded.tool} ${recorded.target}`.slice(0, 200).trim();
        const share = Math.min(1, (candidate - 1 + Math.min(1, steps.length / run.budget.steps)) / run.candidates);
        await context.report(label, 30 + Math.round(60 * share));
        return recorded;
      },
    });
    if (outcome.ok) won.push({ ...outcome, candidate });
    else failures.push({ candidate, outcome, ws });
    context.log.info({ candidate, ok: outcome.ok, steps: outcome.steps.length }, 'agent run ended');
  }
  const kept = steps.length > MAX_RESULT_STEPS ? steps.slice(-MAX_RESULT_STEPS) : steps;
  if (!won.length) throw new KodahError('no_fix', nothingWorked(failures), { kind: 'input' });
  const { winner, why } = pick(won);
  const candidates: FixCandidates = { tried: won.length + failures.length, winner: winner.candidate, why };
  return { winner, steps: kept, candidates };
}

/** The most passing tests wins, then the smallest diff. */
function pick(won: Won[]): { winner: Won; why: string } {
  const passed = (w: Won) => w.validation.after?.passed ?? (w.validation.after?.exitCode === 0 ? 0 : -1);
  const size = (w: Won) => parseDiff(w.validation.diff).reduce((sum, f) => sum + f.additions + f.deletions, 0);
  const sorted = [...won].sort((a, b) => passed(b) - passed(a) || size(a) - size(b) || a.candidate - b.candidate);
  const winner = sorted[0]!;
  if (won.length === 1) return { winner, why: 'the only candidate whose fix passed the checks' };
  const tiedOnTests = sorted.filter((w) => passed(w) === passed(winner)).length > 1;
  const why = tiedOnTests
    ? `the smallest diff (${size(winner)} changed lines) of the ${won.length} fixes that passed the checks, which pass the same tests`
    : `the most passing tests (${passed(winner)}) of the ${won.length} fixes that passed the checks`;
  return { winner, why };
}

/** What was tried, for a job that ends without a fix: never a bare "failed". */
function nothingWorked(failures: Array<{ candidate: number; outcome: Extract<AgentOutcome, { ok: false }>; ws: AgentWorkspace }>): string {
  if (!failures.length) return 'No time was left for the model to work on a fix.';
  const last = failures.at(-1)!;
  const commands = last.outcome.steps
    .filter((s) => s.tool === 'run')
    .slice(-5)
    .map((s) => `\`${s.target.slice(0, 80)}\` → ${s.outcome}`);
  const parts = [
    failures.length > 1 ? `None of ${failures.length} runs produced a fix. ` : '',
    last.outcome.why,
    last.outcome.lastProblems.length ? ` Its last submission was rejected: ${last.outcome.lastProblems.slice(0, 3).join(' ')}` : '',
    commands.length ? ` Commands it ran: ${commands.join('; ')}.` : '',
    last.ws.viewed.size ? ` Files it looked at: ${[...last.ws.viewed].slice(0, 10).join(', ')}.` : '',
    last.ws.lastOutput ? ` The last test output ended: ${last.ws.lastOutput.trim().slice(-600)}` : '',
  ];
  return parts.join('').slice(0, 3000);
}
