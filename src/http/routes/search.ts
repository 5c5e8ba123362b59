import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CodeSearch } from '../../code-index/code-search.js';
import type { Database } from '../../db/database.js';
import { requireApiKey } from '../auth.js';
import { snippetData, snippetView } from '../code-index-views.js';
import { errorSchema } from '../error-schema.js';

const strings = z.array(z.string().min(1).max(500)).max(100);
const date = z.iso.datetime({ offset: true }).or(z.iso.date()).transform((d) => new Date(d));

/** The search request of the contract; the same shape serves the MCP tool. */
export const searchAttributes = z
  .object({
    keywords: strings.nullish(),
    code: z.string().max(20_000).nullish(),
    text: z.string().max(20_000).nullish(),
    limit: z.number().int().min(1).max(100).nullish(),
    filters: z
      .object({
        languages: strings.nullish(),
        authors: strings.nullish(),
        start_date: date.nullish(),
        end_date: date.nullish(),
        sources: strings.nullish(),
        file_patterns: strings.nullish(),
      })
      .nullish(),
  })
  .refine((a) => (a.keywords?.length ?? 0) > 0 || !!a.code?.trim() || !!a.text?.trim(), 'give keywords, code or text to search for');

const searchBody = z.object({ data: z.object({ type: z.literal('search').optional(), attributes: searchAttributes }) });

export type SearchAttributes = z.infer<typeof searchAttributes>;

/** The contract's request attributes as a search query. */
export function toSearchQuery(a: SearchAttributes) {
  const f = a.filters ?? {};
  return {
    keywords: a.keywords ?? undefined,
    code: a.code ?? undefined,
    text: a.text ?? undefined,
    limit: a.limit ?? 10,
    filters: {
      languages: f.languages ?? undefined,
      authors: f.authors ?? undefined,
      startDate: f.start_date ?? undefined,
      endDate: f.end_date ?? undefined,
      sources: f.sources ?? undefined,
      filePatterns: f.file_patterns ?? undefined,
    },
  };
}

export const searchRoutes: FastifyPluginAsyncZod<{ db: Database; search: CodeSearch }> = async (app, { db, search }) => {
  app.addHook('onRequest', requireApiKey(db));
  app.post(
    '/api/v1/search',
    { schema: { summary: 'Search snippets (BM25, plus vectors when configured) with filters', body: searchBody, response: { 200: z.object({ data: z.array(snippetData) }), 401: errorSchema, 422: errorSchema } } },
    async (request) => ({ data: (await search.search(request.accountId, toSearchQuery(request.body.data.attributes))).map(snippetView) }),
  );
};
