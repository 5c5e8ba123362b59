import type { PgBoss } from 'pg-boss';
import type { JobSettled } from '../jobs/job-lifecycle.js';
import type { Logger } from '../lib/logger.js';
import { enqueueDelivery } from './github-queues.js';

/** An agent reports every step as a stage: the status comment follows them at most this often. */
const STEP_UPDATE_MS = 10_000;

/**
 * Hooks the job lifecycle calls for jobs GitHub started: their progress and their answer. They
 * only queue work, so they need no App (nor Probot) in the process that settles the job.
 */
export function gitHubJobHooks(
  boss: PgBoss,
  log: Logger,
): { onSettled: JobSettled; onStage: (job: { id: string; source: string }, stage: string) => void } {
  const last = new Map<string, { stage: string; at: number }>();
  return {
    async onSettled(tx, job) {
      if (job.source !== 'github') return;
      last.delete(job.id);
      await enqueueDelivery(boss, { taskId: job.id, final: true }, tx);
    },
    onStage(job, stage) {
      // Progress within a stage is not worth a comment edit, nor is every step of an agent's run
      // (GitHub limits edits too; the answer replaces the comment anyway).
      const before = last.get(job.id);
      if (job.source !== 'github' || before?.stage === stage) return;
      const now = Date.now();
      if (before && stage.startsWith('step ') && now - before.at < STEP_UPDATE_MS) return;
      last.set(job.id, { stage, at: now });
      if (last.size > 10_000) last.delete(last.keys().next().value!);
      enqueueDelivery(boss, { taskId: job.id, final: false }).catch((err: unknown) =>
        log.warn({ err, jobId: job.id }, 'could not queue a status update'),
      );
    },
  };
}
