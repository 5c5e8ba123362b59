import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';

export const WEBHOOK_PATH = '/api/github/webhooks';

type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next?: () => void) => unknown;

/**
 * Probot's Node middleware under Fastify. The signature is an HMAC of the exact bytes GitHub
 * sent, so this route keeps the body raw (no JSON parse and re-serialise) and hands it to the
 * middleware the way it looks for it (`rawBody` on the request), together with the response.
 */
export function webhookRoute(middleware: NodeMiddleware): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    // GitHub caps payloads at 25 MB.
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 26 * 1024 * 1024 }, (_req, body, done) => done(null, body));
    app.post(WEBHOOK_PATH, { schema: { hide: true } }, async (request, reply) => {
      const raw = request.raw as IncomingMessage & { body?: unknown; rawBody?: Uint8Array };
      raw.rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      raw.body = {};
      reply.hijack();
      await middleware(raw, reply.raw, () => reply.raw.writeHead(404).end());
    });
  };
}
