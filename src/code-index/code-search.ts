import type { Queryable } from '../db/database.js';
import { termCounts } from '../code/bm25.js';
import type { Embedder } from './embeddings.js';
import { compileFilters, type CompiledFilters, type SearchFilters } from './search-filters.js';
import { SearchSegment } from './search-segment.js';
import { snippetText } from './snippet-text.js';
import { tokenize } from '../code/tokenize.js';

export interface SearchQuery {
  keywords?: string[];
  code?: string;
  text?: string;
  limit: number;
  filters?: SearchFilters;
}

export interface SearchHit {
  snippetId: number;
  repositoryId: string;
  sourceUri: string;
  commit: string;
  path: string;
  language: string;
  kind: string;
  name: string;
  startLine: number;
  endLine: number;
  authors: string[];
  createdAt: string | null;
  updatedAt: string | null;
  content: string;
  /** The model's summary of the snippet; empty when there is none (yet, or no summary model). */
  summary: string;
  /** The score of each ranking that was run, in order: BM25, then code and text vectors when configured. */
  scores: number[];
  /** The fused score the results are ordered by. */
  score: number;
}

interface Doc {
  segment: SearchSegment;
  doc: number;
  /** Tie-break: repository, then position in the segment (path, then order in the file). */
  order: number;
}

type Ranking = Map<string, { doc: Doc; score: number }>;

const K1 = 1.2;
const B = 0.75;
/** Reciprocal rank fusion's constant, as in the paper and in Kodit. */
const RRF_K = 60;

/**
 * Snippet search over the account's repositories at their indexed commits: BM25 over code-aware
 * tokens, plus vector rankings when an embedder is configured, fused by reciprocal rank. Segments
 * are cached per repository and reloaded when its indexed commit moves.
 */
export class CodeSearch {
  readonly #db: Queryable;
  readonly #embedder: Embedder | null;
  readonly #summaryModel: string | null;
  readonly #segments = new Map<string, { commit: string; segment: Promise<SearchSegment> }>();

  /** `summaryModel`: the model whose snippet summaries `text` queries also search, and hits carry. */
  constructor(db: Queryable, embedder: Embedder | null, summaryModel: string | null = null) {
    this.#db = db;
    this.#embedder = embedder;
    this.#summaryModel = summaryModel;
  }

  async search(accountId: string, query: SearchQuery): Promise<SearchHit[]> {
    const filters = compileFilters(query.filters);
    const repositories = (
      await this.#db.query<{ id: string; remote_uri: string; sanitized_remote_uri: string; indexed_commit: string }>(
        'SELECT id::text AS id, remote_uri, sanitized_remote_uri, indexed_commit FROM code_repositories WHERE account_id = $1 AND indexed_commit IS NOT NULL ORDER BY id',
        [accountId],
      )
    ).rows;
    const all = await Promise.all(repositories.map((r) => this.segment(r.id, r.indexed_commit)));
    const uris = new Map(repositories.map((r) => [r.id, r.remote_uri]));
    const searched = all.filter((s, i) => filters.repository(s.repositoryId, repositories[i]!.sanitized_remote_uri));
    const depth = Math.max(query.limit * 5, 100);

    const rankings: Ranking[] = [];
    const words = [...(query.keywords ?? []), query.code ?? '', query.text ?? ''].join('\n');
    rankings.push(this.#bm25(all, searched, termCounts(tokenize(words)), filters, depth, 'code'));
    // A description in words is matched against what the snippets do, as their summaries say.
    if (this.#summaryModel && query.text?.trim())
      rankings.push(this.#bm25(all, searched, termCounts(tokenize(query.text)), filters, depth, 'summary'));
    if (this.#embedder) {
      for (const text of [query.code, query.text]) {
        if (text?.trim()) rankings.push(await this.#vector(searched, text, filters, depth));
      }
    }
    const fused = new Map<string, { doc: Doc; score: number; scores: number[] }>();
    rankings.forEach((ranking, r) => {
      let rank = 0;
      for (const [key, hit] of ranking) {
        let entry = fused.get(key);
        if (!entry) fused.set(key, (entry = { doc: hit.doc, score: 0, scores: new Array(rankings.length).fill(0) }));
        entry.score += rankings.length === 1 ? hit.score : 1 / (RRF_K + ++rank);
        entry.scores[r] = hit.score;
      }
    });
    const best = [...fused.values()].sort((a, b) => b.score - a.score || compareDocs(a.doc, b.doc)).slice(0, query.limit);
    return this.#hydrate(best, uris);
  }

  /** The repository's segment at the commit, loading it (once) when the cache has another. */
  segment(repositoryId: string, commit: string): Promise<SearchSegment> {
    const cached = this.#segments.get(repositoryId);
    if (cached?.commit === commit) return cached.segment;
    const segment = SearchSegment.load(this.#db, repositoryId, commit, this.#summaryModel);
    this.#segments.set(repositoryId, { commit, segment });
    segment.catch(() => {
      if (this.#segments.get(repositoryId)?.segment === segment) this.#segments.delete(repositoryId);
    });
    return segment;
  }

  /** Drops a deleted repository's segment. */
  forget(repositoryId: string): void {
    this.#segments.delete(repositoryId);
  }

  /**
   * BM25 over the snippets' code or their summaries, with collection statistics over all the
   * account's segments, so filters never change a score.
   */
  #bm25(
    all: SearchSegment[],
    searched: SearchSegment[],
    query: Map<string, number>,
    filters: CompiledFilters,
    depth: number,
    field: 'code' | 'summary',
  ): Ranking {
    const docs = all.reduce((n, s) => n + s.size, 0);
    const total = (s: SearchSegment) => (field === 'code' ? s.totalLength : s.summaryTotalLength);
    const avg = all.reduce((n, s) => n + total(s), 0) / (docs || 1);
    const terms = [...query.keys()].sort();
    const idf = new Map(
      terms.map((t) => {
        const n = all.reduce((sum, s) => sum + s.documentFrequency(t, field), 0);
        return [t, Math.log(1 + (docs - n + 0.5) / (n + 0.5)) * query.get(t)!];
      }),
    );
    const top: Array<{ doc: Doc; score: number }> = [];
    let floor = 0;
    for (const segment of searched) {
      const scores = new Float64Array(segment.size);
      const postings = field === 'code' ? segment.postings : segment.summaryPostings;
      const lengths = field === 'code' ? segment.lengths : segment.summaryLengths;
      for (const term of terms) {
        const posting = postings.get(term);
        if (!posting) continue;
        const weight = idf.get(term)!;
        for (let i = 0; i < posting.docs.length; i++) {
          const doc = posting.docs[i]!;
          const tf = posting.tfs[i]!;
          scores[doc]! += (weight * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * lengths[doc]!) / avg));
        }
      }
      for (let doc = 0; doc < scores.length; doc++) {
        const score = scores[doc]!;
        if (score <= 0 || (top.length >= depth && score < floor)) continue;
        if (!filters.language(segment.languages[doc]!) || !filters.file(segment.files[segment.fileOf[doc]!]!)) continue;
        top.push({ doc: { segment, doc, order: doc }, score });
        if (top.length >= depth * 2) floor = trim(top, depth);
      }
    }
    trim(top, depth);
    return new Map(top.map((hit) => [key(hit.doc), hit]));
  }

  async #vector(searched: SearchSegment[], text: string, filters: CompiledFilters, depth: number): Promise<Ranking> {
    const [query] = await this.#embedder!.embed([text]);
    const top: Array<{ doc: Doc; score: number }> = [];
    for (const segment of searched) {
      const vectors = await segment.vectors(this.#db, this.#embedder!.model);
      vectors.forEach((v, doc) => {
        if (!v || v.length !== query!.length) return;
        if (!filters.language(segment.languages[doc]!) || !filters.file(segment.files[segment.fileOf[doc]!]!)) return;
        let dot = 0;
        for (let i = 0; i < v.length; i++) dot += v[i]! * query![i]!;
        top.push({ doc: { segment, doc, order: doc }, score: dot });
      });
      trim(top, depth);
    }
    return new Map(top.map((hit) => [key(hit.doc), hit]));
  }

  async #hydrate(best: Array<{ doc: Doc; score: number; scores: number[] }>, uris: Map<string, string>): Promise<SearchHit[]> {
    if (best.length === 0) return [];
    const ids = best.map((b) => b.doc.segment.snippetIds[b.doc.doc]!);
    const snippets = new Map(
      (
        await this.#db.query<{
          id: string;
          kind: string;
          name: string;
          start_line: number;
          end_line: number;
          content: string | null;
          summary: string | null;
        }>(
          `SELECT s.id, s.kind, s.qualified_name AS name, s.start_line, s.end_line, b.content, m.summary
           FROM code_snippets s JOIN code_blobs b ON b.sha = s.blob_sha
           LEFT JOIN code_summaries m ON m.content_sha = s.content_sha AND m.model = $2
           WHERE s.id = ANY($1::bigint[])`,
          [ids, this.#summaryModel ?? ''],
        )
      ).rows.map((r) => [Number(r.id), r]),
    );
    return best.flatMap(({ doc, score, scores }) => {
      const snippet = snippets.get(doc.segment.snippetIds[doc.doc]!);
      if (!snippet) return [];
      const file = doc.segment.files[doc.segment.fileOf[doc.doc]!]!;
      return [
        {
          snippetId: Number(snippet.id),
          repositoryId: doc.segment.repositoryId,
          sourceUri: uris.get(doc.segment.repositoryId) ?? '',
          commit: doc.segment.commit,
          path: file.path,
          language: doc.segment.languages[doc.doc]!,
          kind: snippet.kind,
          name: snippet.name,
          startLine: snippet.start_line,
          endLine: snippet.end_line,
          authors: file.authors,
          createdAt: file.firstDate === null ? null : new Date(file.firstDate).toISOString(),
          updatedAt: file.lastDate === null ? null : new Date(file.lastDate).toISOString(),
          content: snippetText(snippet.content ?? '', snippet.start_line, snippet.end_line),
          summary: snippet.summary ?? '',
          scores,
          score,
        },
      ];
    });
  }
}

function key(doc: Doc): string {
  return `${doc.segment.repositoryId}:${doc.doc}`;
}

function compareDocs(a: Doc, b: Doc): number {
  return Number(a.segment.repositoryId) - Number(b.segment.repositoryId) || a.order - b.order;
}

/** Keeps the best `depth` hits (ties broken by position), returning the lowest score kept. */
function trim(top: Array<{ doc: Doc; score: number }>, depth: number): number {
  top.sort((a, b) => b.score - a.score || compareDocs(a.doc, b.doc));
  top.length = Math.min(top.length, depth);
  return top.length >= depth ? top[top.length - 1]!.score : 0;
}
