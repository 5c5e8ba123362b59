import { z } from 'zod';

/** The body of every error response: `detail` always; a 429 for jobs in progress names them too. */
export const errorSchema = z.object({
  detail: z.string(),
  /** 429 `Job already in progress`: the account's queued and running jobs, oldest first. */
  running_jobs: z.array(z.string()).optional(),
  /** 429 `Job already in progress`: how many the account may have at once. */
  max_running_jobs: z.number().int().optional(),
});
