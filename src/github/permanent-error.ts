import { ZodError } from 'zod';
import { KodahError } from '../lib/errors.js';

/** Failures no retry can cure: a payload without what Kodah reads, a refusal, a 4xx that is not a limit. */
export function isPermanent(err: unknown): boolean {
  if (err instanceof ZodError) return true;
  if (err instanceof KodahError) return err.kind === 'input' && !err.retryable;
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500 && ![403, 408, 409, 429].includes(status);
}
