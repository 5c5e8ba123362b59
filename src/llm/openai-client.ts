import OpenAI from 'openai';

/** Longer waits than this are not slept out in a worker: the queue retries the job later. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * An OpenAI client for any compatible endpoint, as every Kodah caller (chat, embeddings) needs
 * it: a timeout that covers the whole body, retries that do not sleep for hours, and nothing read
 * from the environment.
 */
export function openAiClient(options: { baseUrl: string; apiKey: string; timeoutMs: number; maxRetries: number }): OpenAI {
  return new OpenAI({
    baseURL: options.baseUrl,
    // The SDK refuses an empty key; local servers (Ollama, vLLM) need none.
    apiKey: options.apiKey || 'none',
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
    // Explicit nulls: the SDK would otherwise read OPENAI_ORG_ID and friends from the environment
    // and send them to whatever endpoint is configured. Errors are ours to report, not its to log.
    organization: null,
    project: null,
    adminAPIKey: null,
    webhookSecret: null,
    logLevel: 'off',
    fetch: bufferedFetch,
  });
}

/**
 * fetch for the SDK, closing two gaps in its retry loop. Its timeout stops at the response
 * headers, so a body that stalls would hang for ever: the body is read here, while that timeout
 * still runs. And it sleeps out any retry-after, an hour if a provider says so, deaf to the abort
 * signal: a wait over MAX_RETRY_AFTER_MS is marked not worth retrying here (the queue retries).
 */
async function bufferedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, init);
  const body = await response.arrayBuffer();
  const headers = new Headers(response.headers);
  // The body is already decoded and may have a new length.
  headers.delete('content-encoding');
  headers.delete('content-length');
  if ((retryAfterMs(headers) ?? 0) > MAX_RETRY_AFTER_MS) headers.set('x-should-retry', 'false');
  const hasBody = ![101, 204, 205, 304].includes(response.status);
  return new Response(hasBody ? body : null, { status: response.status, statusText: response.statusText, headers });
}

/** The wait a provider asks for, read as the SDK reads it (retry-after-ms, then retry-after). */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (!Number.isNaN(ms)) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (!Number.isNaN(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date - Date.now();
}
