import { z } from 'zod';
import type { FixTestRun, SandboxCommand } from '../jobs/fix-engine.js';
import { stepView } from '../jobs/job-steps-view.js';
import type { JobRecord, JobState } from '../jobs/job-record.js';

const commandSchema = z.object({
  phase: z.enum(['setup', 'examples', 'tests']),
  command: z.string(),
  sandbox: z.string(),
  exit_code: z.number().int().nullable(),
  limit: z.string().nullable(),
  seconds: z.number(),
  output_tail: z.string(),
  cached: z.boolean(),
});

function commandView(c: SandboxCommand): z.infer<typeof commandSchema> {
  return {
    phase: c.phase,
    command: c.command,
    sandbox: c.sandbox,
    exit_code: c.exitCode,
    limit: c.limit,
    seconds: c.seconds,
    output_tail: c.outputTail,
    cached: c.cached ?? false,
  };
}

const stepSchema = z.object({
  /** 1, 2, 3… across the job's attempt (all candidates). */
  n: z.number().int(),
  candidate: z.number().int(),
  tool: z.string(),
  target: z.string(),
  outcome: z.string(),
  ok: z.boolean(),
  seconds: z.number(),
});

const testRunSchema = z.object({
  command: z.string(),
  exit_code: z.number().int().nullable(),
  failed: z.array(z.string()),
  passed: z.number().int().nullable(),
  seconds: z.number(),
});

function testRunView(run: FixTestRun | null): z.infer<typeof testRunSchema> | null {
  return run && { command: run.command, exit_code: run.exitCode, failed: run.failed, passed: run.passed, seconds: run.seconds };
}

const STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;

/** The contract's three statuses: a queued job reads "running", a cancelled one "failed". */
function contractStatus(state: JobState): 'running' | 'completed' | 'failed' {
  if (state === 'completed') return 'completed';
  if (state === 'failed' || state === 'cancelled') return 'failed';
  return 'running';
}

export const jobStatusSchema = z.object({
  job_id: z.uuid(),
  status: z.enum(['running', 'completed', 'failed']),
  state: z.enum(STATES),
  stage: z.string().nullable(),
  progress: z.number().int(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  elapsed_s: z.number(),
  error: z.string().nullable(),
  error_kind: z.enum(['system', 'input']).nullable(),
  refunded: z.boolean(),
  repo_url: z.string(),
  ref: z.string(),
  commit_sha: z.string().nullable(),
  /** Who asked: `api`, or `github` for fixes the GitHub App started. */
  source: z.string(),
  /** What ran in the sandbox (setup, tests): command, exit code, duration, the limit that stopped it, the end of its output. */
  commands: z.array(commandSchema),
  /** How many steps the agent has taken (tools it called) in the attempt that holds the job. */
  steps_taken: z.number().int(),
  /** Its latest step; the whole list is at GET /jobs/{id}/events. */
  step: stepSchema.nullable(),
});

export function jobStatusView(job: JobRecord, now: Date = new Date()): z.infer<typeof jobStatusSchema> {
  const end = job.completedAt ?? now;
  return {
    job_id: job.id,
    status: contractStatus(job.state),
    state: job.state,
    stage: job.stage,
    progress: job.progress,
    created_at: job.createdAt.toISOString(),
    started_at: job.startedAt?.toISOString() ?? null,
    completed_at: job.completedAt?.toISOString() ?? null,
    elapsed_s: Math.max(0, Math.round((end.getTime() - job.createdAt.getTime()) / 100) / 10),
    error: job.error,
    error_kind: job.errorKind,
    refunded: job.refunded,
    repo_url: job.repoUrl,
    ref: job.ref,
    commit_sha: job.commitSha,
    source: job.source,
    commands: job.commands.map(commandView),
    steps_taken: job.steps.length,
    step: job.steps.length ? stepView(job.steps.at(-1)!) : null,
  };
}

export const jobResultSchema = z.object({
  job_id: z.uuid(),
  status: z.literal('completed'),
  diff: z.string(),
  explanation: z.string().nullable(),
  files_changed: z.array(z.string()),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), cost_usd: z.number().nullable() }).nullable(),
  checks: z.array(z.object({ name: z.string(), outcome: z.string(), detail: z.string().optional() })),
  attempts: z.number().int().nullable(),
  stage_seconds: z.record(z.string(), z.number()),
  commands: z.array(commandSchema),
  /** `agent` (the model called tools) or `single-shot` (one answer with edit blocks per attempt). */
  mode: z.enum(['agent', 'single-shot']).nullable(),
  steps: z.array(stepSchema),
  /** The repository's tests before any edit and with the fix; null without a test command. */
  tests: z.object({ before: testRunSchema.nullable(), after: testRunSchema.nullable() }).nullable(),
  /** How the fix was chosen when several candidates competed. */
  candidates: z.object({ tried: z.number().int(), winner: z.number().int(), why: z.string() }).nullable(),
  repo_url: z.string(),
  ref: z.string(),
  commit_sha: z.string().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
  elapsed_s: z.number(),
});

export function jobResultView(job: JobRecord): z.infer<typeof jobResultSchema> {
  const result = job.result!;
  const status = jobStatusView(job);
  return {
    job_id: job.id,
    status: 'completed',
    diff: result.diff,
    explanation: result.explanation ?? null,
    files_changed: result.filesChanged,
    usage: result.usage
      ? {
          prompt_tokens: result.usage.promptTokens,
          completion_tokens: result.usage.completionTokens,
          cost_usd: result.usage.costUsd ?? null,
        }
      : null,
    checks: result.checks ?? [],
    attempts: result.attempts ?? null,
    stage_seconds: result.stageSeconds ?? {},
    commands: status.commands,
    mode: result.mode ?? null,
    // The engine's own list when it returned one; else what was recorded as the steps happened.
    steps: (result.steps ?? job.steps).map(stepView),
    tests: result.tests ? { before: testRunView(result.tests.before), after: testRunView(result.tests.after) } : null,
    candidates: result.candidates ? { tried: result.candidates.tried, winner: result.candidates.winner, why: result.candidates.why } : null,
    repo_url: job.repoUrl,
    ref: job.ref,
    commit_sha: job.commitSha,
    created_at: status.created_at,
    completed_at: status.completed_at,
    elapsed_s: status.elapsed_s,
  };
}

export const jobEventsSchema = z
  .object({
    job_id: z.uuid(),
    state: z.enum(STATES),
    stage: z.string().nullable(),
    progress: z.number().int(),
    /** The steps numbered above `after`, in order. */
    events: z.array(stepSchema),
    /** What to send as `after` next time: the last step here, or the `after` this answer was read from. */
    next_after: z.number().int(),
    /** The job is completed, failed or cancelled: no more steps will come. */
    done: z.boolean(),
  })
  .describe(
    'The steps after `after`. With `Accept: text/event-stream` the answer is a stream of Server-Sent Events instead: ' +
      '`event: step` (`id` the step number, `data` one step as in `events`) for each step as it is recorded, ' +
      'a `: keep-alive` comment every 15 s, and `event: end` (`data` {job_id, state, stage, progress}) once the job is settled; ' +
      '`Last-Event-ID` is honoured as `after`.',
  );
