/**
 * How a fix was made, for people to check: the agent's steps, the tests before and with the fix,
 * how the winning candidate was chosen, and what it cost — folded in a `<details>` under a pull
 * request's body or a comment. Every text in it came from the model or the repository (targets,
 * commands, test ids, outcomes): shown only as code spans or through safeInlineText, one line
 * each, and bounded in count and in characters, so the body stays under GitHub's limit.
 */
import type { FixResult, FixTestRun } from '../jobs/fix-engine.js';
import { codeSpan, safeInlineText } from './safe-markdown.js';

/** The parts of a job's result the evidence shows; any may be missing (an older result, no test command). */
export type Evidence = Pick<FixResult, 'mode' | 'steps' | 'tests' | 'candidates' | 'usage' | 'attempts'>;

/** The most the evidence block takes by default: a fifth of a body. */
export const MAX_EVIDENCE = 13_000;
const MAX_STEPS = 40;
const MAX_FAILED = 20;
/** A failed-test list gets at most this much of the block, however long its ids. */
const MAX_FAILED_CHARS = 2_500;
const MAX_TOOL = 40;
const MAX_TARGET = 160;
const MAX_OUTCOME = 160;
const MAX_TEST_ID = 160;
const MAX_COMMAND = 160;
const MAX_WHY = 400;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;
const object = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
const text = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

function duration(seconds: unknown): string | null {
  if (!isCount(seconds)) return null;
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${count(seconds)} s`;
}

/**
 * Lines (already rendered) as a list of at most `maxItems` and `maxChars`, then how many more:
 * the items are rendered lazily, so a result with thousands of them costs only what is shown.
 */
function boundedList(total: number, render: (i: number) => string, maxItems: number, maxChars: number, indent = ''): string {
  const lines: string[] = [];
  let used = 0;
  for (let i = 0; i < Math.min(total, maxItems); i++) {
    const line = `${indent}- ${render(i)}`;
    if (used + line.length + 1 > maxChars) break;
    lines.push(line);
    used += line.length + 1;
  }
  if (lines.length < total) lines.push(`${indent}- … and ${count(total - lines.length)} more`);
  return lines.join('\n');
}

function stepLine(raw: unknown, index: number): string {
  const step = object(raw);
  const n = isCount(step.n) ? count(step.n) : count(index + 1);
  const icon = step.ok === false ? '❌' : step.ok === true ? '✅' : '•';
  const target = text(step.target) ? ` ${codeSpan(text(step.target), MAX_TARGET)}` : '';
  const outcome = text(step.outcome) ? ` → ${safeInlineText(text(step.outcome), MAX_OUTCOME)}` : '';
  const took = duration(step.seconds);
  const candidate = isCount(step.candidate) && step.candidate > 1 ? ` (candidate ${count(step.candidate)})` : '';
  return `${icon} **${n}**${candidate} ${codeSpan(text(step.tool) || 'step', MAX_TOOL)}${target}${outcome}${took ? ` · ${took}` : ''}`;
}

function testRun(label: string, raw: FixTestRun | null | undefined): string | null {
  if (!raw || typeof raw !== 'object') return null;
  const run = object(raw);
  const exit = run.exitCode === null ? 'stopped by a limit' : isCount(run.exitCode) ? `exit ${count(run.exitCode)}` : null;
  const failed = Array.isArray(run.failed) ? run.failed : [];
  const tally = [failed.length > 0 && `${count(failed.length)} failed`, isCount(run.passed) && `${count(run.passed)} passed`]
    .filter(Boolean)
    .join(', ');
  const facts = [exit, tally, duration(run.seconds)].filter(Boolean).join(' · ');
  const head = `- ${label}: ${codeSpan(text(run.command) || '(the test command)', MAX_COMMAND)}${facts ? ` → ${facts}` : ''}`;
  if (failed.length === 0) return head;
  const list = boundedList(failed.length, (i) => codeSpan(text(failed[i]) || '(unnamed)', MAX_TEST_ID), MAX_FAILED, MAX_FAILED_CHARS, '  ');
  return `${head}\n${list}`;
}

function candidatesLine(raw: unknown): string | null {
  const c = object(raw);
  if (!isCount(c.tried) || c.tried < 1) return null;
  const winner = isCount(c.winner) ? ` Candidate ${count(c.winner)} was chosen` : '';
  const why = text(c.why) ? `: ${safeInlineText(text(c.why), MAX_WHY)}` : winner ? '.' : '';
  return `**Candidates:** ${plural(c.tried, 'independent attempt')}.${winner}${why}`;
}

function usageLine(e: Evidence): string | null {
  const u = object(e.usage);
  const parts: string[] = [];
  if (isCount(u.promptTokens) && isCount(u.completionTokens)) {
    parts.push(`${count(u.promptTokens)} prompt + ${count(u.completionTokens)} completion tokens`);
  }
  if (isCount(u.costUsd)) parts.push(`$${u.costUsd.toFixed(u.costUsd < 1 ? 4 : 2)}`);
  if (e.mode !== 'agent' && isCount(e.attempts) && e.attempts > 0) parts.push(plural(e.attempts, 'model answer'));
  return parts.length ? `**Usage:** ${parts.join(' · ')}` : null;
}

const MODES: Record<string, string> = {
  agent: 'the model searched, read, ran and edited the code with tools',
  'single-shot': 'the model answered with edit blocks, without tools',
};

/**
 * The evidence as a folded block of at most `maxChars`, or null when the result has none (or the
 * room is too small for any). The steps take what the other parts leave.
 */
export function renderEvidence(e: Evidence | null | undefined, maxChars = MAX_EVIDENCE): string | null {
  if (!e || typeof e !== 'object') return null;
  const steps = Array.isArray(e.steps) ? e.steps : [];
  const tests = object(e.tests);
  const before = testRun('Before the fix', tests.before as FixTestRun | null);
  const after = testRun('With the fix', tests.after as FixTestRun | null);
  const candidates = candidatesLine(e.candidates);
  const usage = usageLine(e);
  if (steps.length === 0 && !before && !after && !candidates && !usage) return null;

  const facts = [
    steps.length > 0 && plural(steps.length, 'step'),
    (before || after) && 'tests before and after',
    isCount(object(e.candidates).tried) &&
      (object(e.candidates).tried as number) > 1 &&
      plural(object(e.candidates).tried as number, 'candidate'),
    isCount(object(e.usage).costUsd) && (object(e.usage).costUsd as number) > 0 && `$${(object(e.usage).costUsd as number).toFixed(2)}`,
  ].filter(Boolean);
  const summary = `<summary>How Kodah made this fix${facts.length ? `: ${facts.join(', ')}` : ''}</summary>`;
  const mode = typeof e.mode === 'string' && MODES[e.mode] ? ` (${MODES[e.mode]})` : '';
  const testsPart = before || after ? `**Tests**\n\n${[before, after].filter(Boolean).join('\n')}` : null;
  // The blank lines after <summary> and before </details> are what make GitHub read Markdown inside.
  const assemble = (stepsPart: string | null) =>
    `<details>${summary}\n\n${[stepsPart, testsPart, candidates, usage].filter(Boolean).join('\n\n')}\n\n</details>`;
  const frame = assemble(null).length + `**Steps**${mode}\n\n`.length + 2;
  if (frame > maxChars) return null;
  const stepsPart =
    steps.length > 0
      ? `**Steps**${mode}\n\n${boundedList(steps.length, (i) => stepLine(steps[i], i), MAX_STEPS, maxChars - frame - 40)}`
      : null;
  const block = assemble(stepsPart);
  return block.length <= maxChars ? block : null;
}
