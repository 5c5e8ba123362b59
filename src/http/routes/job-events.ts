import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Queryable } from '../../db/database.js';
import { type JobStepsSince, readStepsSince } from '../../jobs/job-lifecycle.js';
import { KodahError } from '../../lib/errors.js';
import { errorSchema } from '../error-schema.js';
import { type EventStream, openEventStream } from '../event-stream.js';
import { isJobId, jobNotFound } from '../job-id.js';
import { isSettled, jobStepsView, stepView } from '../../jobs/job-steps-view.js';
import { jobEventsSchema } from '../job-views.js';

export interface JobEventOptions {
  db: Queryable;
  /** How often an open stream reads the job (ms). */
  pollMs?: number;
  keepAliveMs?: number;
  /** Open streams one API key may hold in this process. */
  maxStreamsPerKey?: number;
}

const AFTER = 'must be an integer ≥ 0 (the number of the last step seen)';
const stepNumber = z.coerce
  .number({ error: AFTER })
  .int(AFTER)
  .min(0, AFTER)
  .max(2 ** 31 - 1, AFTER);

/** The key a request was admitted with (requireApiKey took it from one of these), hashed: streams are counted per key. */
function streamKey(request: FastifyRequest): string {
  const presented = request.headers['x-api-key'] ?? request.headers.authorization?.replace(/^Bearer /, '') ?? request.accountId;
  return createHash('sha256').update(String(presented).trim()).digest('hex');
}

/**
 * GET /jobs/{id}/events: the agent's steps after `after`, as one JSON answer or, asked for
 * `text/event-stream`, as Server-Sent Events until the job settles. Each open stream reads the job
 * at most every `pollMs` and only while its client is there; keys hold a few streams each, since
 * every stream is a database read twice a second.
 */
export const jobEventRoutes: FastifyPluginAsyncZod<JobEventOptions> = async (app, options) => {
  const { db, pollMs = 500, keepAliveMs = 15_000, maxStreamsPerKey = 5 } = options;
  const openPerKey = new Map<string, number>();
  const live = new Set<EventStream>();
  // An open stream would hold the server's close until its job settles: end them all first (clients reconnect elsewhere).
  app.addHook('preClose', async () => {
    for (const stream of live) stream.close();
  });

  app.get(
    '/jobs/:id/events',
    {
      schema: {
        summary: 'The steps of a job as they happen (JSON, or Server-Sent Events with Accept: text/event-stream)',
        params: z.object({ id: z.string() }),
        querystring: z.object({ after: stepNumber.default(0) }),
        response: { 200: jobEventsSchema, default: errorSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      // HEAD (which Fastify adds for every GET) gets the JSON answer's headers, never a stream that has no body to carry.
      const stream = request.method === 'GET' && (request.headers.accept?.includes('text/event-stream') ?? false);
      let after = request.query.after;
      const lastEventId = request.headers['last-event-id'];
      // A reconnecting EventSource sends the id of the last event it got; it outranks the URL's `after`.
      if (stream && lastEventId !== undefined) {
        const parsed = stepNumber.safeParse(lastEventId);
        if (!parsed.success) throw new KodahError('invalid_input', `Last-Event-ID: ${AFTER}`, { kind: 'input' });
        after = parsed.data;
      }
      const first = isJobId(id) ? await readStepsSince(db, id, request.accountId, after) : null;
      if (!first) throw jobNotFound();
      if (!stream) return jobStepsView(first);

      const key = streamKey(request);
      const open = openPerKey.get(key) ?? 0;
      if (open >= maxStreamsPerKey) {
        throw new KodahError('at_capacity', `Too many open event streams for this API key (at most ${maxStreamsPerKey}): close one first`, {
          kind: 'input',
        });
      }
      openPerKey.set(key, open + 1);

      let timer: NodeJS.Timeout | undefined;
      const sink = openEventStream(reply, {
        keepAliveMs,
        onClose: (closed) => {
          clearTimeout(timer);
          live.delete(closed);
          const left = (openPerKey.get(key) ?? 1) - 1;
          if (left > 0) openPerKey.set(key, left);
          else openPerKey.delete(key);
        },
      });
      if (!sink.closed) live.add(sink);

      let attempt = first.attempt;
      let since = first.since;
      /** Sends what a read found; false when the stream is over. */
      const deliver = (read: JobStepsSince | null): boolean => {
        if (sink.closed) return false;
        if (!read) {
          sink.close();
          return false;
        }
        if (read.attempt !== attempt) {
          // A retry took the job over and its steps start again from 1: read them all next time.
          attempt = read.attempt;
          since = 0;
          return true;
        }
        for (const step of read.steps) sink.send('step', stepView(step), step.n);
        since = read.steps.at(-1)?.n ?? read.since;
        if (isSettled(read.state)) {
          sink.send('end', { job_id: read.id, state: read.state, stage: read.stage, progress: read.progress });
          sink.close();
          return false;
        }
        return true;
      };
      const poll = async () => {
        let read: JobStepsSince | null;
        try {
          read = await readStepsSince(db, id, request.accountId, since);
        } catch (err) {
          // The client reconnects with Last-Event-ID and loses nothing.
          request.log.warn({ err, jobId: id }, 'job events stream: reading the job failed; closing the stream');
          sink.close();
          return;
        }
        if (deliver(read)) timer = setTimeout(() => void poll(), pollMs);
      };
      if (deliver(first)) timer = setTimeout(() => void poll(), pollMs);
      return reply;
    },
  );
};
