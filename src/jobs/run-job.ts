import type { JobWithMetadata } from 'pg-boss';
import type { Database } from '../db/database.js';
import { KodahError, toKodahError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { type RepositoryProbe, resolveRef } from '../git/repository-probe.js';
import type { FixEngine } from './fix-engine.js';
import {
  claimJob,
  completeJob,
  failJob,
  type JobSettled,
  noteAttemptFailure,
  recordCommand,
  recordCommit,
  recordStep,
  reportStage,
} from './job-lifecycle.js';
import type { FixJobData } from './fix-queue.js';

export interface RunJobDeps {
  db: Database;
  probe: RepositoryProbe;
  engine: FixEngine;
  log: Logger;
  /** Runs in the settling transaction (GitHub answers for jobs it started). */
  onSettled?: JobSettled;
  /** KODAH_CHARGE_UNFIXED: a job that ends without a fix keeps its debit (by default it is refunded). */
  chargeUnfixed?: boolean;
  /** Told of each stage a job reaches, after it is recorded; must not throw or wait for long. */
  onStage?: (job: { id: string; source: string }, stage: string, progress: number) => void;
}

/**
 * Runs one delivery of a fix job. Idempotent: a delivery for a job that is finished, cancelled or
 * held by a later attempt does nothing. Outcomes:
 * - success → result stored;
 * - input failure → failed, no refund; but a job that ended without a fix (`no_fix`) is refunded
 *   unless `chargeUnfixed`;
 * - system failure that is retryable, with retries left → rethrown so the queue retries it;
 * - any other system failure → failed and refunded;
 * - aborted (timeout, lost claim, shutdown) → handed back; the queue has already failed this
 *   attempt and retries it, or dead-letters it and the dead-letter handler settles it;
 * - superseded (a later attempt took the job over) → this attempt stops and writes nothing.
 */
export async function runFixJob(deps: RunJobDeps, job: JobWithMetadata<FixJobData>): Promise<void> {
  const { db, probe, engine } = deps;
  const { jobId } = job.data;
  const attempt = job.retryCount;
  const log = deps.log.child({ jobId, attempt });
  const record = await claimJob(db, jobId, attempt);
  if (!record) {
    log.info('job already settled or claimed by a later attempt; skipping');
    return;
  }
  let stage = 'starting';
  const report = async (name: string, progress: number) => {
    stage = name;
    if (!(await reportStage(db, jobId, attempt, name, progress))) {
      throw new KodahError('superseded', 'This attempt no longer holds the job');
    }
    deps.onStage?.({ id: jobId, source: record.source }, name, progress);
  };
  log.info({ repo: record.repoUrl, ref: record.ref }, 'job started');
  const started = Date.now();
  // The queue fails a timed-out attempt at once, without waiting for it to unwind (a git or a
  // sandbox command being killed), and may dead-letter it before that is done: why it stopped is
  // written the moment it is stopped, so that the dead-letter handler finds it.
  let interruption: Promise<void> | null = null;
  const noteInterruption = () => {
    if (interruption) return;
    const reason = new KodahError('timeout', `Attempt ${attempt + 1} was interrupted (time limit or worker shutdown)`);
    interruption = noteAttemptFailure(db, jobId, attempt, reason, 'waiting for a worker (retry)');
    // Awaited (and its failure thrown) where the attempt unwinds; never an unhandled rejection meanwhile.
    interruption.catch(() => {});
  };
  job.signal.addEventListener('abort', noteInterruption, { once: true });
  try {
    await report('resolving ref', 5);
    const repo = await probe.probe(record.repoUrl, { accountId: record.accountId, signal: job.signal }).catch((err: unknown) => {
      // It was there when the job was accepted: a repository we can no longer read is more likely
      // a revoked token or a host in trouble than the caller's fault.
      if (err instanceof KodahError && err.code === 'not_found') {
        throw new KodahError('repository_unavailable', 'The repository can no longer be read', { cause: err, retryable: true });
      }
      throw err;
    });
    const resolved = resolveRef(repo.refs, record.ref);
    if (!resolved) throw new KodahError('ref_not_found', `Ref not found: ${record.ref}`, { kind: 'input' });
    await recordCommit(db, jobId, attempt, resolved.sha);
    const result = await engine.fix(
      {
        jobId,
        accountId: record.accountId,
        repoUrl: record.repoUrl,
        ref: record.ref,
        commitSha: resolved.sha,
        description: record.description,
        visibility: repo.visibility,
      },
      {
        signal: job.signal,
        log,
        report,
        recordCommand: (command) => recordCommand(db, jobId, attempt, command),
        recordStep: (step) => recordStep(db, jobId, attempt, step),
      },
    );
    job.signal.throwIfAborted();
    await completeJob(db, jobId, attempt, result, deps.onSettled);
    log.info({ ms: Date.now() - started }, 'job completed');
  } catch (thrown) {
    const error = toKodahError(thrown);
    if (error.code === 'superseded') {
      // A later attempt holds the job (this one outlived its claim): it alone settles the job.
      log.warn('attempt superseded by a later one; stopping');
      return;
    }
    if (job.signal.aborted) {
      log.warn({ err: thrown }, 'attempt interrupted; handed back to the queue');
      noteInterruption();
      await interruption;
      throw thrown;
    }
    if (error.kind === 'system' && error.retryable && attempt < job.retryLimit) {
      log.warn({ err: thrown }, 'attempt failed; the queue will retry');
      await noteAttemptFailure(db, jobId, attempt, error, `waiting for a worker (retry after: ${stage})`);
      throw thrown;
    }
    const settled = await failJob(db, jobId, attempt, error, deps.onSettled, { chargeUnfixed: deps.chargeUnfixed });
    log[error.kind === 'system' ? 'error' : 'info'](
      { err: thrown, code: error.code, kind: error.kind, settled, ms: Date.now() - started },
      'job failed',
    );
  } finally {
    job.signal.removeEventListener('abort', noteInterruption);
  }
}

/** Settles a job whose retries ran out without a handler settling it: its worker died or hung. */
export async function settleDeadLetter(
  deps: Pick<RunJobDeps, 'db' | 'log' | 'onSettled'>,
  job: JobWithMetadata<FixJobData>,
): Promise<void> {
  const { jobId } = job.data;
  const { rows } = await deps.db.query<{ last_error: string | null }>('SELECT last_error FROM jobs WHERE id = $1', [jobId]);
  const last = rows[0]?.last_error;
  const error = new KodahError(
    'worker_lost',
    `The job could not be finished: its worker stopped or timed out and the retries are exhausted${last ? ` (last error: ${last})` : ''}`,
  );
  const settled = await failJob(deps.db, jobId, null, error, deps.onSettled);
  deps.log.warn({ jobId, settled }, 'dead-lettered job failed and refunded');
}
