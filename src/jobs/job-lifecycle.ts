import { refund } from '../billing/credits.js';
import type { Database, Queryable } from '../db/database.js';
import { KodahError } from '../lib/errors.js';
import type { FixResult, FixStep, SandboxCommand } from './fix-engine.js';
import { JOB_COLUMNS, type JobRecord, type JobRow, type JobState, toJobRecord } from './job-record.js';

/**
 * Every state change of a job after it was accepted. Writers from a queue attempt are fenced by
 * the attempt number, so a worker that lost its claim (expired, or a duplicate delivery) cannot
 * overwrite the attempt that holds the job, and a terminal state is never left.
 */

/**
 * Called inside the transaction that settles a job (completed, failed or cancelled), so work that
 * must follow a settlement (answering on GitHub) is queued exactly when the settlement commits.
 */
export type JobSettled = (tx: Queryable, job: { id: string; source: string }) => Promise<void>;

/** Takes the job for this attempt; null when it is already finished or cancelled (nothing to do). */
export async function claimJob(db: Queryable, jobId: string, attempt: number): Promise<JobRecord | null> {
  const { rows } = await db.query<JobRow>(
    `WITH claimed AS (
       UPDATE jobs SET state = 'running', attempt = $2, stage = 'starting', progress = 0, commands = '[]'::jsonb, steps = '[]'::jsonb,
                       started_at = COALESCE(started_at, clock_timestamp())
        WHERE id = $1 AND state IN ('queued', 'running') AND attempt < $2
        RETURNING *)
     SELECT ${JOB_COLUMNS} FROM claimed j`,
    [jobId, attempt],
  );
  return rows[0] ? toJobRecord(rows[0]) : null;
}

/** Records progress; false when this attempt no longer holds the job. */
export async function reportStage(db: Queryable, jobId: string, attempt: number, stage: string, progress: number): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE jobs SET stage = $3, progress = $4 WHERE id = $1 AND attempt = $2 AND state = 'running' RETURNING id`,
    [jobId, attempt, stage, Math.max(0, Math.min(100, Math.round(progress)))],
  );
  return rows.length > 0;
}

/**
 * Text as jsonb takes it: PostgreSQL refuses NULs and lone surrogates, and the text comes from the
 * model and from what the repository's code printed; one refused write must not fail the job.
 */
function jsonbText(text: string): string {
  return text.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) =>
    c === '\u0000' ? '' : '\ufffd',
  );
}

/** A step's field as stored: at most `max` characters, never ending inside a character. */
function stepText(text: string, max: number): string {
  const clean = jsonbText(text);
  if (clean.length <= max) return clean;
  return clean.slice(0, (clean.charCodeAt(max - 1) & 0xfc00) === 0xd800 ? max - 1 : max);
}

/** Commands kept per job: enough for setup and every attempt's tests, bounded for a status poll. */
const MAX_COMMANDS = 50;
const MAX_TAIL_CHARS = 4000;

/** Appends a sandbox command to the job (by the attempt that holds it). */
export async function recordCommand(db: Queryable, jobId: string, attempt: number, command: SandboxCommand): Promise<void> {
  const kept = {
    ...command,
    command: jsonbText(command.command.slice(0, 2000)),
    outputTail: jsonbText(command.outputTail.slice(-MAX_TAIL_CHARS)),
  };
  await db.query(
    `UPDATE jobs SET commands = commands || jsonb_build_array($3::jsonb)
      WHERE id = $1 AND attempt = $2 AND state = 'running' AND jsonb_array_length(commands) < ${MAX_COMMANDS}`,
    [jobId, attempt, JSON.stringify(kept)],
  );
}

/** Steps kept per job: far more than a fix takes, bounded for a status poll and an events stream. */
const MAX_STEPS = 300;

/** Appends a step of the agent to the job (by the attempt that holds it); the 301st and later are dropped. */
export async function recordStep(db: Queryable, jobId: string, attempt: number, step: FixStep): Promise<void> {
  // Only the fields people see: whatever else an engine puts on a step is not stored.
  // Numbers too: JSON turns NaN into null, which the views' schemas would refuse on every read.
  const number = (v: number) => (Number.isFinite(v) ? v : 0);
  const kept: FixStep = {
    n: Math.trunc(number(step.n)),
    candidate: Math.trunc(number(step.candidate)),
    tool: stepText(step.tool, 40),
    target: stepText(step.target, 200),
    outcome: stepText(step.outcome, 300),
    ok: step.ok === true,
    seconds: number(step.seconds),
  };
  await db.query(
    `UPDATE jobs SET steps = steps || jsonb_build_array($3::jsonb)
      WHERE id = $1 AND attempt = $2 AND state = 'running' AND jsonb_array_length(steps) < ${MAX_STEPS}`,
    [jobId, attempt, JSON.stringify(kept)],
  );
}

/** Where a job is, and the steps a client that has seen up to step `since` has not. */
export interface JobStepsSince {
  id: string;
  state: JobState;
  stage: string | null;
  progress: number;
  /** The queue attempt that holds the job: a new one starts its steps over from 1. */
  attempt: number;
  /** The `after` the steps were read from: 0 when the asked one lies beyond the job's last step. */
  since: number;
  steps: FixStep[];
}

/**
 * The account's job with its steps numbered above `after`, or null when it has no such job. An
 * `after` beyond the last step means the steps started over (a retry's claim clears them), so the
 * client gets them all again rather than waiting for numbers it has already seen.
 */
export async function readStepsSince(db: Queryable, jobId: string, accountId: string, after: number): Promise<JobStepsSince | null> {
  // numeric, not int: a step number is whatever the engine wrote, and a cast must not fail the read.
  const { rows } = await db.query<Omit<JobStepsSince, 'steps'> & { steps: FixStep[] }>(
    `WITH j AS (
       SELECT id, state, stage, progress, attempt, steps,
              CASE WHEN $3::numeric > COALESCE((steps -> -1 ->> 'n')::numeric, 0) THEN 0 ELSE $3::numeric END AS since
         FROM jobs WHERE id = $1 AND account_id = $2)
     SELECT j.id, j.state, j.stage, j.progress, j.attempt, j.since::float8 AS since,
            COALESCE((SELECT jsonb_agg(e.step ORDER BY e.i) FROM jsonb_array_elements(j.steps) WITH ORDINALITY AS e(step, i)
                       WHERE (e.step ->> 'n')::numeric > j.since), '[]'::jsonb) AS steps
       FROM j`,
    [jobId, accountId, after],
  );
  return rows[0] ?? null;
}

export async function recordCommit(db: Queryable, jobId: string, attempt: number, sha: string | null): Promise<void> {
  await db.query(`UPDATE jobs SET commit_sha = $3 WHERE id = $1 AND attempt = $2 AND state = 'running'`, [jobId, attempt, sha]);
}

/** Stores the result once; a second completion (a duplicate run) changes nothing. */
export async function completeJob(
  db: Database,
  jobId: string,
  attempt: number,
  result: FixResult,
  onSettled?: JobSettled,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; source: string }>(
      `UPDATE jobs SET state = 'completed', stage = 'done', progress = 100, result = $3, completed_at = now(),
                       error = NULL, error_code = NULL, error_kind = NULL
        WHERE id = $1 AND attempt = $2 AND state = 'running' RETURNING id, source`,
      [jobId, attempt, JSON.stringify(result)],
    );
    if (rows[0]) await onSettled?.(tx, rows[0]);
    return rows.length > 0;
  });
}

/** Notes a failed attempt that the queue will retry; the job stays running from the user's view. */
export async function noteAttemptFailure(db: Queryable, jobId: string, attempt: number, error: KodahError, stage: string): Promise<void> {
  await db.query(`UPDATE jobs SET state = 'queued', stage = $4, last_error = $3 WHERE id = $1 AND attempt = $2 AND state = 'running'`, [
    jobId,
    attempt,
    error.message,
    stage,
  ]);
}

/**
 * Whether a failed job gets its credit back: always for our failures (`system`); for a job that
 * ended without a fix (`no_fix`: no candidate passed, the tests could not run, a budget ran out)
 * unless the operator charges for those; never for the caller's input errors (a ref that does not
 * exist, a description that names no code).
 */
export function refundsFailure(error: KodahError, chargeUnfixed: boolean): boolean {
  return error.kind === 'system' || (error.code === 'no_fix' && !chargeUnfixed);
}

/**
 * Fails the job for good and, when `refundsFailure` says so, gives the credit back in the same
 * transaction. `attempt` null settles whatever attempt holds it (the dead-letter path for a worker
 * that died). Resolves to whether this call was the one that settled it.
 */
export async function failJob(
  db: Database,
  jobId: string,
  attempt: number | null,
  error: KodahError,
  onSettled?: JobSettled,
  options: { chargeUnfixed?: boolean } = {},
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; source: string }>(
      `UPDATE jobs SET state = 'failed', stage = 'failed', error = $3, error_code = $4, error_kind = $5, completed_at = now()
        WHERE id = $1 AND ($2::int IS NULL OR attempt = $2) AND state IN ('queued', 'running') RETURNING id, source`,
      [jobId, attempt, error.message, error.code, error.kind],
    );
    if (!rows[0]) return false;
    if (refundsFailure(error, options.chargeUnfixed ?? false)) await refund(tx, jobId, `${error.code}: ${error.message}`.slice(0, 500));
    await onSettled?.(tx, rows[0]);
    return true;
  });
}

/**
 * Cancels a job. One no worker has started gets its credit back; a running one (only its owner on
 * GitHub may stop it, `/kodah cancel`) keeps the debit, since the work was being done, and its
 * worker stops at its next stage report.
 */
export async function cancelJob(
  db: Database,
  jobId: string,
  accountId: string,
  options: { running?: boolean; onSettled?: JobSettled } = {},
): Promise<void> {
  await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ state: string; source: string }>(
      'SELECT state, source FROM jobs WHERE id = $1 AND account_id = $2 FOR UPDATE',
      [jobId, accountId],
    );
    const state = rows[0]?.state;
    if (!state) throw new KodahError('not_found', 'Job not found', { kind: 'input' });
    if (state !== 'queued' && !(state === 'running' && options.running)) {
      throw new KodahError(
        'conflict',
        state === 'running' ? 'Job already started; it can no longer be cancelled' : `Job already ${state}`,
        {
          kind: 'input',
        },
      );
    }
    await tx.query(
      `UPDATE jobs SET state = 'cancelled', stage = 'cancelled', error = 'Job cancelled', error_code = 'cancelled',
                       completed_at = now() WHERE id = $1`,
      [jobId],
    );
    if (state === 'queued') await refund(tx, jobId, 'cancelled before work started');
    await options.onSettled?.(tx, { id: jobId, source: rows[0]!.source });
  });
}

export async function getJob(db: Queryable, jobId: string, accountId: string): Promise<JobRecord | null> {
  const { rows } = await db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.id = $1 AND j.account_id = $2`, [jobId, accountId]);
  return rows[0] ? toJobRecord(rows[0]) : null;
}

/** The account's jobs, newest first; `before` is the cursor of the last job of the previous page. */
export async function listJobs(
  db: Queryable,
  accountId: string,
  options: { limit: number; before?: { createdAtMicros: string; id: string } },
): Promise<JobRecord[]> {
  const params: unknown[] = [accountId, options.limit];
  let where = 'j.account_id = $1';
  if (options.before) {
    params.push(options.before.createdAtMicros, options.before.id);
    where += ` AND (j.created_at, j.id) < (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid)`;
  }
  const { rows } = await db.query<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs j WHERE ${where} ORDER BY j.created_at DESC, j.id DESC LIMIT $2`,
    params,
  );
  return rows.map(toJobRecord);
}

/** A job whoever owns it: for the worker-side deliveries that act on the job's behalf. */
export async function getJobById(db: Queryable, jobId: string): Promise<JobRecord | null> {
  const { rows } = await db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.id = $1`, [jobId]);
  return rows[0] ? toJobRecord(rows[0]) : null;
}
