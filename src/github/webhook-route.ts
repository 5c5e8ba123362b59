import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

export const WEBHOOK_PATH = '/api/github/webhooks';

/**
 * GitHub caps webhook payloads at 25 MB and does not deliver larger ones; read as MiB, the more
 * generous reading, so no delivery GitHub makes is refused.
 */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

/** GitHub's form; Probot compares the header byte for byte with the HMAC it computes, so no other form can verify. */
const SIGNATURE = /^sha256=[0-9a-f]{64}$/;
/** The headers Probot's middleware refuses a delivery without. */
const REQUIRED_HEADERS = ['x-hub-signature-256', 'x-github-event', 'x-github-delivery'] as const;
/** The content types Probot's middleware takes (it refuses others with 415, once the body was read). */
const JSON_TYPE = /^\s*application\/json\s*(?:;|$)/;
const NO_APP = 'No GitHub App is configured on this server';
const TOO_LARGE = `Request body too large: GitHub's webhook payloads are at most ${MAX_WEBHOOK_BYTES} bytes`;

/** Probot's Node middleware for one App's deliveries. */
export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next?: () => void) => unknown;

/**
 * The webhooks middleware answers its refusals (a signature that does not match, a handler that
 * threw) as `{"error": …}`; every other answer of Kodah is `{"detail": …}`. Its answers are
 * written with one writeHead(status, headers).end(body), so the body is rewritten there and its
 * length set again; anything else (the 200 "ok", a 202 "still processing") passes unchanged.
 */
export function detailErrors(res: ServerResponse): ServerResponse {
  const writeHead = res.writeHead.bind(res);
  const end = res.end.bind(res);
  let head: { status: number; headers: Record<string, string | number> } | null = null;
  res.writeHead = ((status: number, headers?: Record<string, string | number>) => {
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return writeHead(status, headers);
    head = { status, headers: { ...headers } };
    return res;
  }) as ServerResponse['writeHead'];
  res.end = ((body?: unknown, ...rest: unknown[]) => {
    if (!head) return end(body as string, ...(rest as []));
    const { status, headers } = head;
    head = null;
    let text = body;
    if (status >= 400 && typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as unknown;
        if (parsed && typeof parsed === 'object' && typeof (parsed as { error?: unknown }).error === 'string') {
          text = JSON.stringify({ detail: (parsed as { error: string }).error });
        }
      } catch {
        // not JSON: passed on as it is
      }
    }
    if (typeof text === 'string') headers['content-length'] = String(Buffer.byteLength(text));
    writeHead(status, headers);
    return end(text as string, ...(rest as []));
  }) as ServerResponse['end'];
  return res;
}

/**
 * Refuses a request before its body is read. `Connection: close` makes Node close the socket
 * once the answer is written instead of reading (and discarding) the rest of the body to keep
 * the connection alive for another request.
 */
function refuse(reply: FastifyReply, status: number, detail: string): FastifyReply {
  return reply.status(status).header('connection', 'close').send({ detail });
}

/**
 * What a request's headers alone say against it, or null: the body of a delivery is read only
 * once it carries everything Probot needs to verify it, and is no larger than GitHub sends.
 */
function headerRefusal(request: FastifyRequest): { status: number; detail: string } | null {
  const headers = request.headers;
  const missing = REQUIRED_HEADERS.filter((name) => {
    const value = headers[name];
    return typeof value !== 'string' || value.trim() === '';
  });
  if (missing.length) return { status: 400, detail: `Required headers missing: ${missing.join(', ')}` };
  if (!SIGNATURE.test(headers['x-hub-signature-256'] as string))
    return { status: 400, detail: 'x-hub-signature-256 must be sha256= followed by 64 lowercase hexadecimal digits' };
  const contentType = headers['content-type'];
  if (typeof contentType !== 'string' || !JSON_TYPE.test(contentType))
    return { status: 415, detail: 'Content-Type must be application/json' };
  const length = Number(headers['content-length']);
  if (length > MAX_WEBHOOK_BYTES) return { status: 413, detail: TOO_LARGE };
  return null;
}

/**
 * Probot's Node middleware under Fastify. The signature is an HMAC of the exact bytes GitHub
 * sent, so this route keeps the body raw (no JSON parse and re-serialise) and hands it to the
 * middleware the way it looks for it (`rawBody` on the request), together with the response.
 * Since verifying means reading the body, whatever can be refused from the headers is refused
 * before a byte of it is read, and a body is never buffered past GitHub's cap.
 */
export function webhookRoute(current: () => NodeMiddleware | null): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_WEBHOOK_BYTES }, (_req, body, done) => done(null, body));
    app.post(
      WEBHOOK_PATH,
      {
        schema: { hide: true },
        onRequest: async (request, reply) => {
          // No App yet (it may be registered at /setup while the server runs): as if there were no route.
          if (!current()) {
            await refuse(reply, 404, NO_APP);
            return;
          }
          const refusal = headerRefusal(request);
          if (refusal) await refuse(reply, refusal.status, refusal.detail);
        },
        // A body sent without a length (chunked) is cut off by the parser's limit once it passes
        // the cap, no byte past it buffered; Fastify closes the connection after a parser error.
        errorHandler: (err: FastifyError, _request, reply) => {
          if (err.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw err; // to the server's error handler
          refuse(reply, 413, TOO_LARGE);
        },
      },
      async (request, reply) => {
        const raw = request.raw as IncomingMessage & { body?: unknown; rawBody?: Uint8Array };
        raw.rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        raw.body = {};
        const middleware = current();
        if (!middleware) return refuse(reply, 404, NO_APP);
        reply.hijack();
        await middleware(raw, detailErrors(reply.raw), () => reply.raw.writeHead(404).end());
      },
    );
  };
}
