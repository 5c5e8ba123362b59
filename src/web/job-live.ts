import type { JobStepsSince } from '../jobs/job-lifecycle.js';
import { isLive } from './job-summary.js';

/** How often a job page asks for its job's news while the job is queued or running. */
export const JOB_POLL_MS = 1000;

/**
 * GET /jobs/{id}/events.json as the job page's script reads it: the same fields as the API's
 * GET /jobs/{id}/events (one query, readStepsSince), so a reader of one knows the other.
 */
export interface LiveJobView {
  job_id: string;
  state: JobStepsSince['state'];
  stage: string | null;
  progress: number;
  events: Array<{ n: number; candidate: number; tool: string; target: string; outcome: string; ok: boolean; seconds: number }>;
  next_after: number;
  done: boolean;
}

export function liveJobView(read: JobStepsSince): LiveJobView {
  return {
    job_id: read.id,
    state: read.state,
    stage: read.stage,
    progress: read.progress,
    events: read.steps.map((s) => ({
      n: s.n,
      candidate: s.candidate,
      tool: s.tool,
      target: s.target,
      outcome: s.outcome,
      ok: s.ok,
      seconds: s.seconds,
    })),
    next_after: read.steps.at(-1)?.n ?? read.since,
    done: !isLive(read.state),
  };
}
