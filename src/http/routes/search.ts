import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CodeSearch } from '../../code-index/code-search.js';
import { searchAttributes, toSearchQuery } from '../../code-index/search-request.js';
import type { Database } from '../../db/database.js';
import { requireApiKey } from '../auth.js';
import { snippetData, snippetView } from '../../code-index/kodit-resources.js';
import { errorSchema } from '../error-schema.js';

const searchBody = z.object({ data: z.object({ type: z.literal('search').optional(), attributes: searchAttributes }) });

export const searchRoutes: FastifyPluginAsyncZod<{ db: Database; search: CodeSearch }> = async (app, { db, search }) => {
  app.addHook('onRequest', requireApiKey(db));
  app.post(
    '/api/v1/search',
    {
      schema: {
        summary: 'Search snippets (BM25, plus vectors when configured) with filters',
        body: searchBody,
        response: { 200: z.object({ data: z.array(snippetData) }), 401: errorSchema, 422: errorSchema },
      },
    },
    async (request) => ({ data: (await search.search(request.accountId, toSearchQuery(request.body.data.attributes))).map(snippetView) }),
  );
};
