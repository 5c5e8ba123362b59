import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { type ErrorCode, KodahError } from '../lib/errors.js';

/** The HTTP status of each error code: the one place this mapping lives. */
const STATUS: Record<ErrorCode, number> = {
  unauthorized: 401,
  payment_required: 402,
  not_found: 404,
  conflict: 409,
  invalid_input: 422,
  job_failed: 422,
  no_fix: 422,
  ref_not_found: 404,
  too_early: 425,
  job_in_progress: 429,
  at_capacity: 429,
  repository_unavailable: 503,
  model_unavailable: 503,
  model_no_tools: 503,
  engine_not_configured: 503,
  timeout: 504,
  shutdown: 503,
  superseded: 409,
  worker_lost: 500,
  internal: 500,
};

/**
 * Every error leaves as `{"detail": "…"}` (plus the error's own fields, such as the running jobs of
 * a 429) with the contract's status and wording. A retryable 503 (a repository host we could not
 * reach) says when to come back: its own Retry-After, or `retryAfterS`.
 */
export function installErrorHandler(app: FastifyInstance, options: { retryAfterS: number }): void {
  app.setErrorHandler((err: FastifyError | KodahError, request, reply) => {
    if (err instanceof KodahError) {
      const status = STATUS[err.code];
      const retryAfter = err.retryAfterS ?? (status === 503 && err.retryable ? options.retryAfterS : undefined);
      if (retryAfter) reply.header('retry-after', String(retryAfter));
      if (status >= 500) request.log[status === 503 ? 'warn' : 'error']({ err }, 'request failed');
      const detail = status >= 500 && err.code === 'internal' ? 'Internal server error' : err.message;
      return reply.status(status).send({ ...err.fields, detail });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const detail = err.validation
        .map((v) => {
          const field = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
          return field ? `${field}: ${v.message}` : v.message;
        })
        .join('; ');
      return reply.status(422).send({ detail });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.status(422).send({ detail: 'Request body must be a JSON object' });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({ detail: 'Content-Type must be application/json' });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ detail: 'Request body too large' });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'unhandled error');
    return reply.status(status).send({ detail: status === 500 ? 'Internal server error' : err.message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ detail: `Not found: ${request.method} ${request.url.split('?')[0]}` }),
  );
}
