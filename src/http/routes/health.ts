import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../db/database.js';

export const healthRoutes: FastifyPluginAsyncZod<{ db: Database }> = async (app, { db }) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness and database reachability',
        response: { 200: z.object({ status: z.literal('ok'), database: z.string() }), 503: z.object({ detail: z.string() }) },
      },
    },
    async (request, reply) => {
      try {
        await db.query('SELECT 1');
        return { status: 'ok' as const, database: db.kind };
      } catch (err) {
        request.log.error({ err }, 'health check failed');
        return reply.status(503).send({ detail: 'Database unreachable' });
      }
    },
  );
};
