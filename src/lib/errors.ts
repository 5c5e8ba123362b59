/**
 * The one error model of Kodah. Every failure that crosses a boundary is a KodahError with a code;
 * each edge maps codes once: to an HTTP status (http/error-handler.ts), to retry-or-settle in the
 * queue (jobs/run-job.ts), and later to a sentence in a GitHub comment.
 */
export type ErrorCode =
  | 'unauthorized'
  | 'invalid_input'
  | 'not_found'
  | 'payment_required'
  | 'job_in_progress'
  | 'at_capacity'
  | 'too_early'
  | 'job_failed'
  /** The job ended without a fix: no candidate passed the checks, or the tests could not run to prove one. */
  | 'no_fix'
  | 'conflict'
  | 'ref_not_found'
  | 'repository_unavailable'
  | 'model_unavailable'
  /** The model endpoint refused a request with tools: it (or its server's set-up) has no function calling. */
  | 'model_no_tools'
  | 'engine_not_configured'
  | 'timeout'
  | 'shutdown'
  | 'superseded'
  | 'worker_lost'
  | 'internal';

/**
 * Whose fault a failed job is. `system` failures (ours) refund the credit; `input` failures (the
 * caller's: a missing ref, a description that names no code) do not, except `no_fix` (the job
 * ended without a fix), refunded unless the operator charges for those (KODAH_CHARGE_UNFIXED).
 */
export type FailureKind = 'system' | 'input';

export interface KodahErrorOptions {
  cause?: unknown;
  /** Worth another attempt by the queue (a flaky network, a provider answering 5xx). */
  retryable?: boolean;
  kind?: FailureKind;
  /** For 429s and 503s: seconds the client should wait. */
  retryAfterS?: number;
  /** Fields an HTTP answer carries beside `detail` (snake_case, as the API spells them). */
  fields?: Record<string, unknown>;
}

export class KodahError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly kind: FailureKind;
  readonly retryAfterS: number | undefined;
  readonly fields: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: KodahErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'KodahError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.kind = options.kind ?? 'system';
    this.retryAfterS = options.retryAfterS;
    this.fields = options.fields;
  }
}

/** Any thrown value as a KodahError; unknown errors are internal, ours, and worth a retry. */
export function toKodahError(err: unknown): KodahError {
  if (err instanceof KodahError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new KodahError('internal', `Internal error: ${message}`, { cause: err, retryable: true });
}
