import { z } from 'zod';

const strings = z.array(z.string().min(1).max(500)).max(100);
const date = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .transform((d) => new Date(d));

/** The search request of Kodit's contract; the HTTP route and the MCP tool both take it. */
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
