import type { JobRecord } from '../jobs/job-record.js';

/** A job as one dashboard row, and as GET /dashboard/jobs.json sends it to the page's script. */
export interface JobSummary {
  id: string;
  state: JobRecord['state'];
  stage: string | null;
  progress: number;
  source: string;
  repo: string;
  createdAt: string;
}

/** Where a job came from, as people say it. */
export function sourceLabel(source: string): string {
  if (source === 'api') return 'API';
  if (source === 'github') return 'GitHub';
  return source;
}

export function jobSummary(job: JobRecord): JobSummary {
  return {
    id: job.id,
    state: job.state,
    stage: job.stage,
    progress: job.progress,
    source: sourceLabel(job.source),
    repo: job.repoUrl,
    createdAt: job.createdAt.toISOString(),
  };
}

/** Whether the job may still change: the dashboard polls while any such job is listed. */
export function isLive(state: JobRecord['state']): boolean {
  return state === 'queued' || state === 'running';
}
