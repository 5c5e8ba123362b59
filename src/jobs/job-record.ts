import type { Visibility } from '../git/repository-probe.js';
import type { FailureKind } from '../lib/errors.js';
import type { FixResult, FixStep, SandboxCommand } from './fix-engine.js';

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobRecord {
  id: string;
  accountId: string;
  task: 'fix';
  repoUrl: string;
  ref: string;
  description: string;
  visibility: Visibility;
  source: string;
  state: JobState;
  stage: string | null;
  progress: number;
  attempt: number;
  commitSha: string | null;
  error: string | null;
  errorCode: string | null;
  errorKind: FailureKind | null;
  result: FixResult | null;
  /** What ran in the sandbox for the attempt that holds the job. */
  commands: SandboxCommand[];
  /** The agent's steps so far, for the attempt that holds the job (at most 300). */
  steps: FixStep[];
  createdAt: Date;
  /** created_at in microseconds since the epoch, exactly: a Date keeps only milliseconds. */
  createdAtMicros: string;
  startedAt: Date | null;
  completedAt: Date | null;
  /** Whether the job's credit came back (a system failure or a cancellation). */
  refunded: boolean;
}

export const JOB_COLUMNS = `j.id, j.account_id, j.task, j.repo_url, j.ref, j.description, j.visibility, j.source, j.state,
  j.stage, j.progress, j.attempt, j.commit_sha, j.error, j.error_code, j.error_kind, j.result, j.commands, j.steps,
  j.created_at,
  (EXTRACT(EPOCH FROM j.created_at) * 1000000)::bigint::text AS created_us, j.started_at, j.completed_at,
  EXISTS (SELECT 1 FROM ledger l WHERE l.job_id = j.id AND l.kind = 'refund') AS refunded`;

export interface JobRow {
  id: string;
  account_id: string;
  task: 'fix';
  repo_url: string;
  ref: string;
  description: string;
  visibility: Visibility;
  source: string;
  state: JobState;
  stage: string | null;
  progress: number;
  attempt: number;
  commit_sha: string | null;
  error: string | null;
  error_code: string | null;
  error_kind: FailureKind | null;
  result: FixResult | null;
  commands: SandboxCommand[] | null;
  steps: FixStep[] | null;
  created_at: Date;
  created_us: string;
  started_at: Date | null;
  completed_at: Date | null;
  refunded: boolean;
}

const date = (v: Date | string | null) => (v === null ? null : new Date(v));

export function toJobRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    task: row.task,
    repoUrl: row.repo_url,
    ref: row.ref,
    description: row.description,
    visibility: row.visibility,
    source: row.source,
    state: row.state,
    stage: row.stage,
    progress: row.progress,
    attempt: row.attempt,
    commitSha: row.commit_sha,
    error: row.error,
    errorCode: row.error_code,
    errorKind: row.error_kind,
    result: row.result,
    commands: row.commands ?? [],
    steps: row.steps ?? [],
    createdAt: new Date(row.created_at),
    createdAtMicros: row.created_us,
    startedAt: date(row.started_at),
    completedAt: date(row.completed_at),
    refunded: row.refunded,
  };
}
