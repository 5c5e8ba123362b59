import type { FixStep } from '../jobs/fix-engine.js';
import type { Logger } from '../lib/logger.js';
import { type ChatMessage, type ChatModel, estimateMessageTokens, type ToolCall } from '../llm/chat-model.js';
import type { UsageMeter } from '../llm/usage.js';
import { rejectedSubmit, USE_TOOLS } from './agent-prompts.js';
import { AGENT_TOOLS, type AgentWorkspace, bounded, parseArguments, runTool, type ToolOutcome } from './agent-tools.js';
import { treeFingerprint, type Validation } from './validate-worktree.js';

/** What one candidate may spend. */
export interface AgentBudget {
  steps: number;
  tokens: number;
  /** Counted only when the model's prices are configured. */
  costUsd: number;
  timeMs: number;
}

export interface AgentRun {
  model: ChatModel;
  messages: ChatMessage[];
  ws: AgentWorkspace;
  budget: AgentBudget;
  candidate: number;
  /** The job's usage so far; the budget counts what this run adds. */
  meter: UsageMeter;
  /** Checks the work tree as a fix (policy, syntax, tests). */
  validate: () => Promise<Validation>;
  /** Called as each step ends; returns the step's number in the job. */
  onStep: (step: Omit<FixStep, 'n'>) => Promise<FixStep>;
  log: Logger;
}

export type AgentOutcome =
  | { ok: true; validation: Extract<Validation, { ok: true }>; explanation: string; steps: FixStep[] }
  | { ok: false; why: string; steps: FixStep[]; lastProblems: string[] };

/** Answers without a tool call, and refused repeats, tolerated in a row before the run ends. */
const MAX_IDLE = 3;
/** The model's context when it does not say (gpt-4o's). */
const DEFAULT_CONTEXT_TOKENS = 128_000;
/**
 * The share of the model's context the conversation may fill before old tool answers are dropped:
 * the rest is for its answer and the error of a token estimate.
 */
const CONVERSATION_SHARE = 0.6;
/** The latest tool answers, always kept whole. */
const KEEP_RECENT_ANSWERS = 5;
/** An answer this short is kept: the note that stands for it would save nothing. */
const ELIDE_ABOVE_TOKENS = 120;

/** A tool answer in the conversation: where it is, what it costs, which call it answers. */
interface Answer {
  index: number;
  tokens: number;
  /** The run's step that made the call, when it ran: a dropped answer may be asked for again. */
  step: number | null;
  label: string;
  dropped: boolean;
}

/**
 * One candidate: the model calls tools until it submits a fix that passes its checks, or a budget
 * runs out. Every tool answer goes back to the model; nothing in one is acted on by Kodah.
 */
export async function runAgent(run: AgentRun): Promise<AgentOutcome> {
  const { model, messages, ws, budget } = run;
  const started = Date.now();
  const startUsage = run.meter.totals;
  const steps: FixStep[] = [];
  const seen = new Map<string, number>();
  let generation = 0;
  let fingerprint = await treeFingerprint(ws.tree);
  let idle = 0;
  let lastProblems: string[] = [];
  // Each step sends the whole conversation: sixty answers of up to 12,000 characters would pass
  // any model's context (and spend the token budget on the same old output again and again). Once
  // it passes its share, every answer but the latest few is dropped at once, as SWE-agent drops
  // old observations; between drops the conversation only grows, so a provider's prompt cache
  // keeps serving its start.
  const limit = (model.contextTokens ?? DEFAULT_CONTEXT_TOKENS) * CONVERSATION_SHARE;
  const answers: Answer[] = [];
  let conversation = messages.reduce((sum, m) => sum + estimateMessageTokens(m), 0);
  const pushAnswer = (toolCallId: string, content: string, label: string, step: number | null) => {
    const message: ChatMessage = { role: 'tool', toolCallId, content };
    const tokens = estimateMessageTokens(message);
    answers.push({ index: messages.length, tokens, step, label, dropped: false });
    messages.push(message);
    conversation += tokens;
  };
  const dropOldAnswers = () => {
    for (const a of answers.slice(0, -KEEP_RECENT_ANSWERS)) {
      if (a.dropped || a.tokens <= ELIDE_ABOVE_TOKENS) continue;
      const note = `[Left out to keep the conversation within the model's context: the answer to ${a.label}. Call the tool again if you need it.]`;
      const shorter = { ...messages[a.index]!, content: note };
      messages[a.index] = shorter;
      conversation += estimateMessageTokens(shorter) - a.tokens;
      a.dropped = true;
      // The repeat check keeps the step each call was made at.
      for (const [key, step] of seen) if (step === a.step) seen.delete(key);
    }
  };

  const step = async (call: Omit<FixStep, 'n' | 'candidate'>) => {
    const recorded = await run.onStep({ ...call, candidate: run.candidate });
    steps.push(recorded);
    return recorded;
  };
  const spent = () => {
    const now = run.meter.totals;
    return {
      tokens: now.promptTokens + now.completionTokens - startUsage.promptTokens - startUsage.completionTokens,
      costUsd: now.costUsd - startUsage.costUsd,
    };
  };
  const exhausted = (): string | null => {
    if (steps.length >= budget.steps) return `it used its ${budget.steps} steps`;
    const { tokens, costUsd } = spent();
    if (tokens >= budget.tokens) return `it used its ${budget.tokens} tokens`;
    if (costUsd >= budget.costUsd) return `it used its $${budget.costUsd} budget`;
    if (Date.now() - started >= budget.timeMs) return `it used its ${Math.round(budget.timeMs / 1000)} s`;
    return null;
  };

  for (;;) {
    ws.signal.throwIfAborted();
    const over = exhausted();
    if (over) return { ok: false, why: `The model did not submit a fix that passes the checks before ${over}.`, steps, lastProblems };

    if (conversation > limit) dropOldAnswers();
    const left = budget.timeMs - (Date.now() - started);
    const deadline = AbortSignal.timeout(Math.max(1, Math.ceil(left)));
    let answer;
    try {
      answer = await model.complete(messages, { tools: AGENT_TOOLS, signal: AbortSignal.any([ws.signal, deadline]) });
    } catch (err) {
      if (deadline.aborted && !ws.signal.aborted)
        return {
          ok: false,
          why: `The model did not submit a fix before it used its ${Math.round(budget.timeMs / 1000)} s.`,
          steps,
          lastProblems,
        };
      throw err;
    }
    run.meter.add(answer);
    messages.push({ role: 'assistant', content: answer.content, ...(answer.toolCalls.length && { toolCalls: answer.toolCalls }) });
    // The provider's count of what it was sent, and of what it wrote, which is sent back next.
    conversation = answer.usage.promptTokens + answer.usage.completionTokens;

    if (!answer.toolCalls.length) {
      await step({ tool: 'model', target: '', outcome: 'answered without a tool call', ok: false, seconds: 0 });
      if (++idle >= MAX_IDLE) return { ok: false, why: 'The model stopped calling tools without submitting a fix.', steps, lastProblems };
      const nudge: ChatMessage = { role: 'user', content: USE_TOOLS };
      messages.push(nudge);
      conversation += estimateMessageTokens(nudge);
      continue;
    }

    for (const call of answer.toolCalls) {
      // Every call gets an answer (the protocol wants one per id), even once the budget is spent.
      if (exhausted()) {
        pushAnswer(call.id, 'Not run: the budget is spent.', `${call.name} (not run)`, null);
        continue;
      }
      const t0 = performance.now();
      const outcome = await dispatch(call);
      const seconds = Math.round(performance.now() - t0) / 1000;
      if ('accepted' in outcome) {
        const recorded = await step({ tool: 'submit', target: '', outcome: outcome.line, ok: outcome.accepted !== null, seconds });
        if (outcome.accepted) {
          // Later calls of the same answer are moot: the fix is in.
          return { ok: true, validation: outcome.accepted, explanation: outcome.explanation, steps };
        }
        pushAnswer(call.id, outcome.answer, `step ${recorded.n} (submit)`, steps.length);
        run.log.info({ step: recorded.n, problems: lastProblems }, 'submitted fix rejected');
        continue;
      }
      const recorded = await step({
        tool: call.name.slice(0, 40),
        target: outcome.target,
        outcome: outcome.outcome,
        ok: outcome.ok,
        seconds,
      });
      pushAnswer(call.id, outcome.answer, `step ${recorded.n} (${recorded.tool} ${recorded.target})`.slice(0, 240), steps.length);
    }
    if (idle >= MAX_IDLE) return { ok: false, why: 'The model kept repeating calls whose answers it already had.', steps, lastProblems };
  }

  async function dispatch(
    call: ToolCall,
  ): Promise<ToolOutcome | { accepted: Extract<Validation, { ok: true }> | null; explanation: string; answer: string; line: string }> {
    const parsed = parseArguments(call.name, call.arguments);
    if (!parsed.ok) {
      idle = 0;
      return { answer: parsed.problem, target: bounded(call.arguments, 200), outcome: 'bad arguments', ok: false, changed: false };
    }
    const key = `${parsed.tool}\0${generation}\0${JSON.stringify(parsed.args)}`;
    const earlier = seen.get(key);
    if (earlier !== undefined && parsed.tool !== 'submit') {
      idle++;
      return {
        answer: `You made this exact call at step ${earlier} and nothing has changed since: its answer would be the same. Do something else.`,
        target: bounded(JSON.stringify(parsed.args), 200),
        outcome: 'refused: the same call again',
        ok: false,
        changed: false,
      };
    }
    idle = 0;
    seen.set(key, steps.length + 1);
    if (parsed.tool === 'submit') {
      const explanation = String(parsed.args.explanation ?? '').trim();
      const validation = await run.validate();
      if (validation.ok) return { accepted: validation, explanation, answer: 'Accepted.', line: 'accepted' };
      lastProblems = validation.problems;
      if (validation.testOutput) ws.lastOutput = validation.testOutput;
      return {
        accepted: null,
        explanation,
        answer: bounded(rejectedSubmit(validation.problems, validation.testOutput)),
        line: `rejected: ${validation.problems[0] ?? 'checks failed'}`.slice(0, 300),
      };
    }
    const outcome = await runTool(ws, parsed.tool, parsed.args);
    // Only a change to the files makes an earlier read, search or run worth repeating: an applied
    // edit, or a command that wrote to them (sed -i, a formatter).
    if (parsed.tool === 'edit' && outcome.changed) generation++;
    if (parsed.tool === 'run') {
      const now = await treeFingerprint(ws.tree);
      if (now !== fingerprint) generation++;
      fingerprint = now;
    }
    return outcome;
  }
}
