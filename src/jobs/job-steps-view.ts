import type { FixStep } from './fix-engine.js';
import type { JobStepsSince } from './job-lifecycle.js';
import type { JobState } from './job-record.js';

/** One step of the agent as clients see it: the API's result and events, and the job page's script. */
export interface StepView {
  n: number;
  candidate: number;
  tool: string;
  target: string;
  outcome: string;
  ok: boolean;
  seconds: number;
}

export function stepView(s: FixStep): StepView {
  return { n: s.n, candidate: s.candidate, tool: s.tool, target: s.target, outcome: s.outcome, ok: s.ok, seconds: s.seconds };
}

/** Whether a job has reached a state it never leaves. */
export function isSettled(state: JobState): boolean {
  return state === 'completed' || state === 'failed' || state === 'cancelled';
}

/**
 * A job's steps after a point, as GET /jobs/{id}/events (API key) and GET /jobs/{id}/events.json
 * (the job page's session) both answer them: one shape, so a reader of one knows the other.
 */
export interface JobStepsView {
  job_id: string;
  state: JobState;
  stage: string | null;
  progress: number;
  events: StepView[];
  /** What to send as `after` next time: the last step here, or the `after` this answer was read from. */
  next_after: number;
  /** The job is completed, failed or cancelled: no more steps will come. */
  done: boolean;
}

export function jobStepsView(read: JobStepsSince): JobStepsView {
  return {
    job_id: read.id,
    state: read.state,
    stage: read.stage,
    progress: read.progress,
    events: read.steps.map(stepView),
    next_after: read.steps.at(-1)?.n ?? read.since,
    done: isSettled(read.state),
  };
}
