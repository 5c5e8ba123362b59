import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { CodeSearch } from '../code-index/code-search.js';
import type { Config } from '../config.js';
import type { JobSettled } from '../jobs/job-lifecycle.js';
import type { SubmitJobDeps } from '../jobs/submit-job.js';
import type { Logger } from '../lib/logger.js';
import { installErrorHandler } from './error-handler.js';
import { accountRoutes } from './routes/account.js';
import { healthRoutes } from './routes/health.js';
import { indexRoutes } from './routes/indexes.js';
import { jobRoutes } from './routes/jobs.js';
import { mcpRoutes } from './routes/mcp.js';
import { repositoryRoutes } from './routes/repositories.js';
import { searchRoutes } from './routes/search.js';

export interface HttpDeps extends SubmitJobDeps {
  config: Config;
  log: Logger;
  search: CodeSearch;
  /** The GitHub App's webhook endpoint; null when the App is not configured. */
  github: FastifyPluginAsync | null;
  onSettled?: JobSettled;
}

/** The HTTP API: jobs, account, health, and the OpenAPI document with its UI at /docs. */
export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    },
    // A 64 KiB description plus JSON escaping and the other fields.
    bodyLimit: 512 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Kodah API',
        version: '1',
        description: 'Submit a repository and a bug description; get a diff back. The code index (Kodit API) lives under /api/v1.',
      },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes, { db: deps.db });
  await app.register(accountRoutes, {
    db: deps.db,
    clock: deps.clock,
    rules: deps.rules,
    defaultMaxRunningJobs: deps.config.limits.maxRunningJobsPerAccount,
  });
  await app.register(jobRoutes, deps);
  const codeIndex = {
    db: deps.db,
    boss: deps.boss,
    probe: deps.probe,
    search: deps.search,
    maxRepositories: deps.config.index.maxRepositories,
  };
  await app.register(repositoryRoutes, codeIndex);
  await app.register(indexRoutes, codeIndex);
  await app.register(searchRoutes, codeIndex);
  await app.register(mcpRoutes, { db: deps.db, search: deps.search });
  if (deps.github) await app.register(deps.github);
  return app;
}
