import { z } from 'zod';
import type { JobDeliveries } from '../jobs/job-deliveries.js';
import type { JobRecord } from '../jobs/job-record.js';
import { jobStatusView } from './job-views.js';

const callbackSchema = z
  .object({
    url: z.string(),
    delivered: z.boolean(),
    /** Attempts made so far (a refusal by the URL policy counts as one). */
    attempts: z.number().int(),
    /** The receiver's HTTP status on the latest attempt; null when none answered. */
    last_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
  })
  .nullable()
  .describe('The callback_url the job was given and how its delivery went; null without one');

/** What a job asked for beyond its result, shown beside its status and its result. */
export const deliveryFields = {
  /** `pull_request` when the job asked for a draft pull request; null for the diff only. */
  deliver: z.enum(['pull_request']).nullable(),
  pull_request_url: z.string().nullable().describe('The draft pull request, once opened (after the job completes)'),
  pull_request_error: z.string().nullable().describe('Why no pull request was opened, when that failed for good'),
  callback: callbackSchema,
};

export function deliveryView(d: JobDeliveries): z.infer<z.ZodObject<typeof deliveryFields>> {
  const cb = d.callback;
  return {
    deliver: d.pullRequest ? 'pull_request' : null,
    pull_request_url: d.pullRequest?.url ?? null,
    pull_request_error: d.pullRequest?.error ?? null,
    callback: cb && {
      url: cb.url,
      delivered: cb.deliveredAt !== null,
      attempts: cb.attempts,
      last_status: cb.lastStatus,
      last_error: cb.lastError,
    },
  };
}

/**
 * A callback's body: the job's status exactly as GET /jobs/{id}/status shows it (job_id, status,
 * state, error, refunded, …) with deliver, pull_request_url and pull_request_error, and without
 * `callback` (the delivery it is part of).
 */
export function callbackBody(job: JobRecord, d: JobDeliveries): Record<string, unknown> {
  const { callback: _, ...delivery } = deliveryView(d);
  return { ...jobStatusView(job, job.completedAt ?? new Date()), ...delivery };
}
