import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { KodahError } from '../../lib/errors.js';
import { cancelJob, getJob, type JobSettled, listJobs } from '../../jobs/job-lifecycle.js';
import { FIX_QUEUE } from '../../jobs/fix-queue.js';
import type { SubmitJobDeps } from '../../jobs/submit-job.js';
import { readJobDeliveries } from '../../jobs/job-deliveries.js';
import { type RestJobDeps, type RestJobInput, restJobInput, submitRestJob } from '../../jobs/submit-rest-job.js';
import { requireApiKey } from '../auth.js';
import { errorSchema } from '../error-schema.js';
import { isJobId, jobNotFound } from '../job-id.js';
import { deliveryFields, deliveryView } from '../job-delivery-view.js';
import { jobResultSchema, jobResultView, jobStatusSchema, jobStatusView } from '../job-views.js';
import { jobEventRoutes } from './job-events.js';

const MAX_DESCRIPTION_BYTES = 64 * 1024;

// The characters git allows in a ref, minus anything that could read as an option or a range.
const REF = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._/+-]{1,255}(?<![./])$/;

const submitBody = z.object({
  repo_url: z.string({ error: 'required, a full https URL of the repository' }).min(1, 'must not be empty').max(2048, 'too long'),
  task: z.literal('fix', { error: 'must be "fix" (the only supported task)' }),
  description: z
    .string({ error: 'required, a description of the bug' })
    .refine((d) => d.trim().length > 0, 'must not be empty')
    .refine((d) => !d.includes('\u0000'), 'must not contain NUL characters')
    .refine((d) => Buffer.byteLength(d) <= MAX_DESCRIPTION_BYTES, `must be at most ${MAX_DESCRIPTION_BYTES} bytes`),
  ref: z.string().regex(REF, 'must be a branch, tag or commit sha').default('main'),
  callback_url: z
    .string({ error: 'must be an https URL' })
    .max(2048, 'too long')
    .optional()
    .describe(
      "POSTed the final status when the job ends, signed with the account's callback secret (X-Kodah-Signature-256); https, public addresses only",
    ),
  deliver: z
    .enum(['pull_request'], { error: 'must be "pull_request" (or left out, for the diff only)' })
    .optional()
    .describe(
      '"pull_request": a draft pull request through the GitHub App when the job succeeds (an installation of this account must cover the repository)',
    ),
});

const jobParams = z.object({ id: z.string() });

function cursorOf(job: { createdAtMicros: string; id: string }): string {
  return Buffer.from(JSON.stringify([job.createdAtMicros, job.id])).toString('base64url');
}

function parseCursor(cursor: string): { createdAtMicros: string; id: string } {
  try {
    const [micros, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [unknown, unknown];
    if (typeof micros === 'string' && /^\d{1,19}$/.test(micros) && typeof id === 'string' && isJobId(id)) {
      return { createdAtMicros: micros, id };
    }
  } catch {
    // reported below
  }
  throw new KodahError('invalid_input', 'cursor: not a cursor returned by this endpoint', { kind: 'input' });
}

/** One job's status (and result) with what it asked for beyond its result. */
const jobStatusWithDeliveries = jobStatusSchema.extend(deliveryFields);
const jobResultWithDeliveries = jobResultSchema.extend(deliveryFields);
const accepted = { 202: z.object({ job_id: z.uuid() }), default: errorSchema };

export type JobRouteDeps = SubmitJobDeps & Omit<RestJobDeps, 'submit'> & { onSettled?: JobSettled };

export const jobRoutes: FastifyPluginAsyncZod<JobRouteDeps> = async (app, deps) => {
  const { db } = deps;
  // onRequest: a request without a valid key is refused before its body is even read.
  app.addHook('onRequest', requireApiKey(db));

  // GET /jobs/{id}/events, behind the same key check (registered after the hook, so it inherits it).
  await app.register(jobEventRoutes, { db });

  async function ownJob(accountId: string, id: string) {
    const job = isJobId(id) ? await getJob(db, id, accountId) : null;
    if (!job) throw jobNotFound();
    return job;
  }
  const restDeps: RestJobDeps = {
    submit: deps,
    callbackPolicy: deps.callbackPolicy,
    resolve: deps.resolve,
    pullRequests: deps.pullRequests,
  };
  const submit = async (accountId: string, input: RestJobInput) => submitRestJob(restDeps, accountId, input);

  app.post(
    '/jobs',
    {
      schema: {
        summary: 'Submit a fix job',
        body: submitBody,
        response: accepted,
      },
    },
    async (request, reply) => {
      const { repo_url, task, description, ref, callback_url, deliver } = request.body;
      const { jobId } = await submit(request.accountId, { repoUrl: repo_url, task, description, ref, callbackUrl: callback_url, deliver });
      request.log.info({ jobId, repo: repo_url, ref }, 'job accepted');
      return reply.status(202).send({ job_id: jobId });
    },
  );

  app.post(
    '/jobs/:id/retry',
    {
      schema: {
        summary: 'Start a new job with the same input (charged as a new job; 409 while this one runs)',
        params: jobParams,
        response: accepted,
      },
    },
    async (request, reply) => {
      const job = await ownJob(request.accountId, request.params.id);
      if (job.state === 'queued' || job.state === 'running') {
        throw new KodahError('conflict', 'Job still running: retry it once it has ended, or cancel it first', { kind: 'input' });
      }
      const { jobId } = await submit(request.accountId, await restJobInput(db, job));
      request.log.info({ jobId, retryOf: job.id }, 'job accepted (retry)');
      return reply.status(202).send({ job_id: jobId });
    },
  );

  app.get(
    '/jobs',
    {
      schema: {
        summary: "This account's jobs, newest first",
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z.string().optional(),
        }),
        response: { 200: z.object({ jobs: z.array(jobStatusSchema), next_cursor: z.string().nullable() }), default: errorSchema },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const jobs = await listJobs(db, request.accountId, { limit: limit + 1, before: cursor ? parseCursor(cursor) : undefined });
      const page = jobs.slice(0, limit);
      const last = page.at(-1);
      return {
        jobs: page.map((j) => jobStatusView(j)),
        next_cursor: jobs.length > limit && last ? cursorOf(last) : null,
      };
    },
  );

  app.get(
    '/jobs/:id/status',
    {
      schema: {
        summary: 'Poll a job (never costs credits)',
        params: jobParams,
        response: { 200: jobStatusWithDeliveries, default: errorSchema },
      },
    },
    async (request) => {
      const job = await ownJob(request.accountId, request.params.id);
      return { ...jobStatusView(job), ...deliveryView(await readJobDeliveries(db, job.id)) };
    },
  );

  app.get(
    '/jobs/:id',
    {
      schema: {
        summary: 'The diff of a completed job (425 while running, 422 when failed)',
        params: jobParams,
        response: { 200: jobResultWithDeliveries, default: errorSchema },
      },
    },
    async (request) => {
      const job = await ownJob(request.accountId, request.params.id);
      if (job.state === 'completed' && job.result) return { ...jobResultView(job), ...deliveryView(await readJobDeliveries(db, job.id)) };
      if (job.state === 'failed' || job.state === 'cancelled') {
        throw new KodahError('job_failed', `Job failed: ${job.error ?? 'unknown error'}`, { kind: 'input' });
      }
      throw new KodahError('too_early', 'Job still running', { kind: 'input' });
    },
  );

  app.post(
    '/jobs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a job that has not started (its credit comes back)',
        params: jobParams,
        response: { 200: jobStatusSchema, default: errorSchema },
      },
    },
    async (request) => {
      const job = await ownJob(request.accountId, request.params.id);
      await cancelJob(db, job.id, request.accountId, { onSettled: deps.onSettled });
      await deps.boss.cancel(FIX_QUEUE, job.id).catch((err: unknown) => request.log.warn({ err }, 'queue cancel failed'));
      return jobStatusView(await ownJob(request.accountId, job.id));
    },
  );
};
