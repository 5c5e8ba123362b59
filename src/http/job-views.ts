import { z } from 'zod';
import type { SandboxCommand } from '../jobs/fix-engine.js';
import type { JobRecord, JobState } from '../jobs/job-record.js';

const commandSchema = z.object({
  phase: z.enum(['setup', 'tests']),
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

/** The contract's three statuses: a queued job reads "running", a cancelled one "failed". */
function contractStatus(state: JobState): 'running' | 'completed' | 'failed' {
  if (state === 'completed') return 'completed';
  if (state === 'failed' || state === 'cancelled') return 'failed';
  return 'running';
}

export const jobStatusSchema = z.object({
  job_id: z.uuid(),
  status: z.enum(['running', 'completed', 'failed']),
  state: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
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
    repo_url: job.repoUrl,
    ref: job.ref,
    commit_sha: job.commitSha,
    created_at: status.created_at,
    completed_at: status.completed_at,
    elapsed_s: status.elapsed_s,
  };
}
