import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type IndexTask, listIndexTasks } from '../../code-index/index-queue.js';
import { listSteps } from '../../code-index/index-steps.js';
import { addRepository, type CodeIndexDeps, removeRepository } from '../../code-index/manage-repositories.js';
import { getRepository, listRepositories } from '../../code-index/repositories.js';
import { KodahError } from '../../lib/errors.js';
import { requireApiKey } from '../auth.js';
import { indexData, indexView, taskData, taskStatusData, taskStatusView } from '../../code-index/kodit-resources.js';
import { errorSchema } from '../error-schema.js';

const indexParams = z.object({ index_id: z.string() });
const errors = { 401: errorSchema, 404: errorSchema, 422: errorSchema };

const createIndexBody = z.object({
  data: z.object({
    type: z.literal('index', { error: 'must be "index"' }).optional(),
    attributes: z.object({ uri: z.string({ error: 'required, the https URL of a git repository' }).min(1).max(2048) }),
  }),
});

function taskView(t: IndexTask): z.infer<typeof taskData> {
  return {
    type: 'task',
    id: t.id,
    attributes: {
      type: t.type,
      priority: t.priority,
      payload: { ...t.payload },
      state: t.state,
      created_at: t.createdAt.toISOString(),
      updated_at: t.updatedAt ? new Date(t.updatedAt).toISOString() : null,
    },
  };
}

/**
 * Indexes are the older face of the same thing: an index is a repository's indexing, with the
 * same id. Creating one for a known URI runs the index again (picking up new commits).
 */
export const indexRoutes: FastifyPluginAsyncZod<CodeIndexDeps> = async (app, deps) => {
  const { db } = deps;
  app.addHook('onRequest', requireApiKey(db));

  app.get(
    '/api/v1/indexes',
    { schema: { summary: 'List indexes', response: { 200: z.object({ data: z.array(indexData) }), ...errors } } },
    async (request) => ({
      data: (await listRepositories(db, request.accountId)).map(indexView),
    }),
  );

  app.post(
    '/api/v1/indexes',
    {
      schema: {
        summary: 'Index a repository (asynchronously)',
        body: createIndexBody,
        response: { 202: z.object({ data: indexData }), ...errors },
      },
    },
    async (request, reply) => {
      const { repository } = await addRepository(deps, request.accountId, request.body.data.attributes.uri, 'uri');
      return reply.status(202).send({ data: indexView(repository) });
    },
  );

  app.get(
    '/api/v1/indexes/:index_id',
    { schema: { summary: 'One index', params: indexParams, response: { 200: z.object({ data: indexData }), ...errors } } },
    async (request) => ({
      data: indexView(await getRepository(db, request.accountId, request.params.index_id, 'Index')),
    }),
  );

  app.delete(
    '/api/v1/indexes/:index_id',
    { schema: { summary: 'Delete an index (and its repository)', params: indexParams, response: { 204: z.null(), ...errors } } },
    async (request, reply) => {
      await removeRepository(deps, request.accountId, request.params.index_id, 'Index');
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/indexes/:index_id/status',
    {
      schema: {
        summary: 'The steps of the latest index run',
        params: indexParams,
        response: { 200: z.object({ data: z.array(taskStatusData) }), ...errors },
      },
    },
    async (request) => {
      const repository = await getRepository(db, request.accountId, request.params.index_id, 'Index');
      return { data: (await listSteps(db, repository.id)).map(taskStatusView) };
    },
  );

  async function ownTasks(accountId: string): Promise<IndexTask[]> {
    const ids = new Set((await listRepositories(db, accountId)).map((r) => String(r.id)));
    return listIndexTasks(deps.boss, ids);
  }

  app.get(
    '/api/v1/queue',
    {
      schema: {
        summary: 'Index tasks waiting or running',
        querystring: z.object({ task_type: z.string().optional() }),
        response: { 200: z.object({ data: z.array(taskData) }), ...errors },
      },
    },
    async (request) => {
      const type = request.query.task_type;
      return { data: (await ownTasks(request.accountId)).filter((t) => !type || t.type === type).map(taskView) };
    },
  );

  app.get(
    '/api/v1/queue/:task_id',
    {
      schema: {
        summary: 'One task',
        params: z.object({ task_id: z.string() }),
        response: { 200: z.object({ data: taskData }), ...errors },
      },
    },
    async (request) => {
      const task = (await ownTasks(request.accountId)).find((t) => t.id === request.params.task_id);
      if (!task) throw new KodahError('not_found', `Task ${request.params.task_id} not found`, { kind: 'input' });
      return { data: taskView(task) };
    },
  );
};
