import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type Stripe from 'stripe';
import type { CodeSearch } from '../code-index/code-search.js';
import type { Config } from '../config.js';
import type { JobSettled } from '../jobs/job-lifecycle.js';
import type { SubmitJobDeps } from '../jobs/submit-job.js';
import type { RestJobDeps } from '../jobs/submit-rest-job.js';
import type { Logger } from '../lib/logger.js';
import type { UserInstallations } from '../web/user-installations.js';
import type { SignInConfig } from '../web/github-oauth.js';
import type { AppSetup } from '../web/setup-routes.js';
import { webRoutes } from '../web/web-routes.js';
import { installErrorHandler } from './error-handler.js';
import { accountRoutes } from './routes/account.js';
import { checkoutRoutes } from './routes/checkout.js';
import { stripeWebhookRoutes } from './routes/stripe-webhook.js';
import { healthRoutes } from './routes/health.js';
import { indexRoutes } from './routes/indexes.js';
import { jobRoutes } from './routes/jobs.js';
import { mcpRoutes } from './routes/mcp.js';
import { repositoryRoutes } from './routes/repositories.js';
import type { CommitFiles } from '../code-index/commit-files.js';
import { searchRoutes } from './routes/search.js';

export interface HttpDeps extends SubmitJobDeps, Omit<RestJobDeps, 'submit'> {
  config: Config;
  log: Logger;
  search: CodeSearch;
  /** The files of any commit of an indexed repository, scanned or not. */
  commitFiles: CommitFiles;
  /** The GitHub App's webhook endpoint (it answers 404 while no App is configured). */
  github: FastifyPluginAsync | null;
  /** Sign-in's OAuth client now: config's, or the client of the App registered at /setup since. */
  signIn: () => SignInConfig | null;
  /** Registering the GitHub App from the browser; null when an App was configured at start. */
  setup: AppSetup | null;
  /** The Stripe SDK for buying credits; null when purchases are off. */
  stripe: Stripe | null;
  onSettled?: JobSettled;
  /** Seals GitHub tokens, signs sign-in and /setup states (web/secret-key.ts); null when neither is on. */
  secretKey: Buffer | null;
  /** What signed-in users reach through the App's installations; null when the App or signing in is off. */
  userReach: UserInstallations | null;
  /** The GitHub App's slug, asked of GitHub; null when the App is off. */
  appSlug: (() => Promise<string | null>) | null;
}

/**
 * A request without a body has nothing for a Content-Type to describe, yet many clients send
 * `Content-Type: application/json` on every request (a DELETE included). Fastify would hand such a
 * request to the JSON parser (422: empty body) or refuse an unknown type (415); without the header
 * it treats the request as bodiless, on every route at once. A body is absent exactly when the
 * request has neither Transfer-Encoding nor a Content-Length above 0 (RFC 9112, section 6.3).
 */
async function ignoreContentTypeWithoutBody(request: FastifyRequest): Promise<void> {
  const { headers } = request;
  const length = headers['content-length'];
  if (headers['content-type'] !== undefined && headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) {
    delete request.raw.headers['content-type'];
  }
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
  installErrorHandler(app, { retryAfterS: deps.config.limits.retryAfterS });
  app.addHook('onRequest', ignoreContentTypeWithoutBody);

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
  await app.register(repositoryRoutes, { ...codeIndex, commitFiles: deps.commitFiles });
  await app.register(indexRoutes, codeIndex);
  await app.register(searchRoutes, codeIndex);
  await app.register(mcpRoutes, { db: deps.db, search: deps.search });
  // Buying credits; without Stripe both routes still answer, saying how the operator adds credits instead.
  const settings = deps.config.stripe;
  const client = settings && deps.stripe;
  await app.register(checkoutRoutes, {
    db: deps.db,
    stripe: client ? { client, bounds: settings, publicUrl: deps.config.publicUrl } : null,
  });
  await app.register(stripeWebhookRoutes, { db: deps.db, stripe: client ? { client, webhookSecret: settings.webhookSecret } : null });
  await app.register(webRoutes, {
    db: deps.db,
    clock: deps.clock,
    rules: deps.rules,
    publicUrl: deps.config.publicUrl,
    // A getter: an App registered at /setup brings its OAuth client while the server runs.
    get signIn() {
      return deps.secretKey ? deps.signIn() : null;
    },
    key: deps.secretKey,
    stripe: client ? { client, bounds: settings } : null,
    userReach: deps.userReach,
    appSlug: deps.appSlug,
    githubWebUrl: deps.config.github?.webUrl ?? deps.config.signIn?.webUrl ?? 'https://github.com',
    codeIndex,
    operator: {
      admins: deps.config.admins,
      maxQueuedJobs: deps.config.limits.maxQueuedJobs,
      status: {
        githubApp: deps.config.github !== null,
        signIn: deps.secretKey !== null && deps.config.signIn !== null,
        purchases: client !== null,
        model: deps.config.model !== null,
      },
    },
    boss: deps.boss,
    onSettled: deps.onSettled,
    setup: deps.setup,
  });
  if (deps.github) await app.register(deps.github);
  return app;
}
