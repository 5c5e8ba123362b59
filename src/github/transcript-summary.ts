/**
 * The earlier transcript summary: what Kodah's previous job on a pull request said it did and the
 * steps it took, for the job that revises it. All of it is the model's words and echoes of the
 * repository (file names, commands, test output), so it is sanitised and bounded like an issue.
 */
import type { FixResult, FixStep } from '../jobs/fix-engine.js';
import { firstBytes } from '../lib/utf8-slice.js';
import { sanitizeLine, sanitizeText } from './sanitize-text.js';

/** About a screenful: the model needs the shape of the earlier work, not all of it. */
const MAX_STEP_LINES = 30;
/** The first steps show where the search began; the rest of the lines go to the last ones, where the fix took shape. */
const HEAD_STEPS = 10;
const MAX_TOOL = 40;
const MAX_TARGET = 160;
const MAX_OUTCOME = 120;

function stepLine(raw: unknown, index: number): string {
  const step = (raw && typeof raw === 'object' ? raw : {}) as Partial<Record<keyof FixStep, unknown>>;
  const n = typeof step.n === 'number' && Number.isInteger(step.n) ? step.n : index + 1;
  const tool = sanitizeLine(step.tool, MAX_TOOL) || 'step';
  const target = sanitizeLine(step.target, MAX_TARGET);
  const outcome = sanitizeLine(step.outcome, MAX_OUTCOME);
  return `${n}. ${tool}${target ? ` ${target}` : ''}${outcome ? ` → ${outcome}` : ''}`;
}

/** A job's steps as at most 30 lines, "7. run pytest -x → exit 1 (1.2 s)"; the middle of a long run is left out. */
export function stepLines(steps: unknown): string[] {
  if (!Array.isArray(steps)) return [];
  if (steps.length <= MAX_STEP_LINES) return steps.map(stepLine);
  const tail = MAX_STEP_LINES - HEAD_STEPS - 1;
  const from = steps.length - tail;
  return [
    ...steps.slice(0, HEAD_STEPS).map(stepLine),
    `[… ${from - HEAD_STEPS} steps left out]`,
    ...steps.slice(from).map((step, i) => stepLine(step, from + i)),
  ];
}

/** The previous job's explanation and steps in at most `maxBytes`; empty when it left neither. */
export function transcriptSummary(result: Pick<FixResult, 'explanation' | 'steps'> | null | undefined, maxBytes = 12_000): string {
  const lines = stepLines(result?.steps);
  const steps = lines.length ? `Steps it took:\n${lines.join('\n')}` : '';
  const explanationRoom = Math.max(0, maxBytes - Buffer.byteLength(steps) - 40);
  let explanation = sanitizeText(typeof result?.explanation === 'string' ? result.explanation : '');
  if (Buffer.byteLength(explanation) > explanationRoom)
    explanation = `${firstBytes(explanation, Math.max(0, explanationRoom - 10))}\n[… cut]`;
  const text = [explanation && `Its explanation:\n${explanation}`, steps].filter(Boolean).join('\n\n');
  // Thirty capped lines fit any sensible budget; this only guards a budget too small for them.
  return firstBytes(text, maxBytes);
}
