import type { Queryable } from '../db/database.js';
import { termCounts } from '../code/bm25.js';
import type { Embedder } from './embeddings.js';
import { compileFilters, type CompiledFilters, type SearchFilters } from './search-filters.js';
import { findTerm, type SearchSegment, type SegmentFile } from './search-segment.js';
import { type HeldSegment, SegmentCache } from './segment-cache.js';
import { loadSegment } from './segment-store.js';
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

/** A ranked document: what the answer needs of it, without holding its segment. */
interface Doc {
  repositoryId: string;
  commit: string;
  snippetId: number;
  file: SegmentFile;
  language: string;
  /** Tie-break: repository, then position in the segment (path, then order in the file). */
  order: number;
}

type Hit = { doc: Doc; score: number };
type Ranking = Map<string, Hit>;

/** One ranking being collected segment by segment: its best hits so far. */
interface Collector {
  top: Hit[];
  floor: number;
}

/** BM25's collection statistics for one field, over every segment of the account. */
interface FieldStats {
  docs: number;
  totalLength: number;
  frequencies: Map<string, number>;
}

const K1 = 1.2;
const B = 0.75;
/** Reciprocal rank fusion's constant, as in the paper and in Kodit. */
const RRF_K = 60;
/** Default memory budget for segments when none is given: effectively unbounded. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/**
 * Snippet search over the account's repositories at their indexed commits: BM25 over code-aware
 * tokens, plus vector rankings when an embedder is configured, fused by reciprocal rank.
 * Segments are held in an LRU cache under a memory budget and loaded from their stored form
 * (rebuilt from the rows when missing); a search leases them one at a time, so it runs over more
 * repositories than fit, and its results never depend on what the cache holds.
 */
export class CodeSearch {
  readonly #db: Queryable;
  readonly #embedder: Embedder | null;
  readonly #summaryModel: string | null;
  readonly #cache: SegmentCache;

  /**
   * `summaryModel`: the model whose snippet summaries `text` queries also search, and hits carry.
   * `memoryBytes`: the budget for the segments held between searches.
   */
  constructor(db: Queryable, embedder: Embedder | null, summaryModel: string | null = null, memoryBytes: number = UNBOUNDED) {
    this.#db = db;
    this.#embedder = embedder;
    this.#summaryModel = summaryModel;
    this.#cache = new SegmentCache(memoryBytes, (repositoryId, commit) => loadSegment(db, repositoryId, commit, summaryModel));
  }

  async search(accountId: string, query: SearchQuery): Promise<SearchHit[]> {
    const filters = compileFilters(query.filters);
    const repositories = (
      await this.#db.query<{ id: string; remote_uri: string; sanitized_remote_uri: string; indexed_commit: string }>(
        'SELECT id::text AS id, remote_uri, sanitized_remote_uri, indexed_commit FROM code_repositories WHERE account_id = $1 AND indexed_commit IS NOT NULL ORDER BY id',
        [accountId],
      )
    ).rows;
    const uris = new Map(repositories.map((r) => [r.id, r.remote_uri]));
    const searched = repositories.filter((r) => filters.repository(r.id, r.sanitized_remote_uri));
    const depth = Math.max(query.limit * 5, 100);

    const words = [...(query.keywords ?? []), query.code ?? '', query.text ?? ''].join('\n');
    const fields: Array<{ field: 'code' | 'summary'; terms: Map<string, number> }> = [
      { field: 'code', terms: termCounts(tokenize(words)) },
    ];
    // A description in words is matched against what the snippets do, as their summaries say.
    if (this.#summaryModel && query.text?.trim()) fields.push({ field: 'summary', terms: termCounts(tokenize(query.text)) });
    const vectorQueries: Float32Array[] = [];
    if (this.#embedder) {
      for (const text of [query.code, query.text]) {
        if (text?.trim()) vectorQueries.push((await this.#embedder.embed([text]))[0]!);
      }
    }

    // First pass: collection statistics over all the account's segments, so filters never change a score.
    const stats = fields.map(() => ({ docs: 0, totalLength: 0, frequencies: new Map<string, number>() }));
    for (const r of repositories) {
      await this.#with(r.id, r.indexed_commit, (segment) => {
        fields.forEach(({ field, terms }, f) => {
          const s = stats[f]!;
          s.docs += segment.size;
          s.totalLength += field === 'code' ? segment.totalLength : segment.summaryTotalLength;
          for (const term of terms.keys()) s.frequencies.set(term, (s.frequencies.get(term) ?? 0) + segment.documentFrequency(term, field));
        });
      });
    }
    // Second pass: each searched segment ranked in turn, held only while it is ranked. Backwards:
    // the segments the first pass used last are the ones a full cache still holds (and the next
    // search's first pass, forwards again, finds those this pass used last). The order of
    // ranking changes no result: every ranking keeps its best hits by score, then position.
    const collectors: Collector[] = [...fields, ...vectorQueries].map(() => ({ top: [], floor: 0 }));
    for (const r of [...searched].reverse()) {
      await this.#with(r.id, r.indexed_commit, async (segment) => {
        fields.forEach(({ field, terms }, f) => this.#bm25(segment, terms, stats[f]!, field, filters, depth, collectors[f]!));
        for (const [v, vector] of vectorQueries.entries())
          await this.#vector(segment, vector, filters, depth, collectors[fields.length + v]!);
      });
    }
    const rankings: Ranking[] = collectors.map((c) => {
      trim(c.top, depth);
      return new Map(c.top.map((hit) => [key(hit.doc), hit]));
    });

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

  /** Loads the repository's segment at the commit into the cache (the indexer warms a new commit). */
  async segment(repositoryId: string, commit: string): Promise<SearchSegment> {
    const lease = await this.#cache.lease(repositoryId, commit);
    lease.release();
    return lease.segment;
  }

  /** Drops a deleted repository's segment. */
  forget(repositoryId: string): void {
    this.#cache.forget(repositoryId);
  }

  /** The estimated bytes of the segments this process holds between searches. */
  heldBytes(): number {
    return this.#cache.heldBytes();
  }

  /** The segments held, least recently used first, with the loads and evictions so far. */
  held(): { segments: HeldSegment[]; loads: number; evictions: number } {
    return { segments: this.#cache.held(), ...this.#cache.counts() };
  }

  async #with(repositoryId: string, commit: string, use: (segment: SearchSegment) => void | Promise<void>): Promise<void> {
    const lease = await this.#cache.lease(repositoryId, commit);
    try {
      await use(lease.segment);
    } finally {
      lease.release();
    }
  }

  /** BM25 of one segment's documents over the code or the summaries, into the ranking's best hits. */
  #bm25(
    segment: SearchSegment,
    query: Map<string, number>,
    stats: FieldStats,
    field: 'code' | 'summary',
    filters: CompiledFilters,
    depth: number,
    into: Collector,
  ): void {
    const avg = stats.totalLength / (stats.docs || 1);
    const terms = [...query.keys()].sort();
    const index = segment.index(field);
    const lengths = field === 'code' ? segment.lengths : segment.summaryLengths;
    const scores = new Float64Array(segment.size);
    for (const term of terms) {
      const t = findTerm(index, term);
      if (t < 0) continue;
      const n = stats.frequencies.get(term)!;
      const weight = Math.log(1 + (stats.docs - n + 0.5) / (n + 0.5)) * query.get(term)!;
      for (let i = index.offsets[t]!, end = index.offsets[t + 1]!; i < end; i++) {
        const doc = index.docs[i]!;
        const tf = index.tfs[i]!;
        scores[doc]! += (weight * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * lengths[doc]!) / avg));
      }
    }
    const { top } = into;
    for (let doc = 0; doc < scores.length; doc++) {
      const score = scores[doc]!;
      if (score <= 0 || (top.length >= depth && score < into.floor)) continue;
      const file = segment.files[segment.fileOf[doc]!]!;
      if (!filters.language(segment.languages[doc]!) || !filters.file(file)) continue;
      top.push({ doc: docOf(segment, doc), score });
      if (top.length >= depth * 2) into.floor = trim(top, depth);
    }
  }

  async #vector(segment: SearchSegment, query: Float32Array, filters: CompiledFilters, depth: number, into: Collector): Promise<void> {
    const vectors = await segment.vectors(this.#db, this.#embedder!.model);
    vectors.forEach((v, doc) => {
      if (!v || v.length !== query.length) return;
      if (!filters.language(segment.languages[doc]!) || !filters.file(segment.files[segment.fileOf[doc]!]!)) return;
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += v[i]! * query[i]!;
      into.top.push({ doc: docOf(segment, doc), score: dot });
    });
    trim(into.top, depth);
  }

  async #hydrate(best: Array<{ doc: Doc; score: number; scores: number[] }>, uris: Map<string, string>): Promise<SearchHit[]> {
    if (best.length === 0) return [];
    const ids = best.map((b) => b.doc.snippetId);
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
      const snippet = snippets.get(doc.snippetId);
      if (!snippet) return [];
      const file = doc.file;
      return [
        {
          snippetId: Number(snippet.id),
          repositoryId: doc.repositoryId,
          sourceUri: uris.get(doc.repositoryId) ?? '',
          commit: doc.commit,
          path: file.path,
          language: doc.language,
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

function docOf(segment: SearchSegment, doc: number): Doc {
  return {
    repositoryId: segment.repositoryId,
    commit: segment.commit,
    snippetId: segment.snippetIds[doc]!,
    file: segment.files[segment.fileOf[doc]!]!,
    language: segment.languages[doc]!,
    order: doc,
  };
}

function key(doc: Doc): string {
  return `${doc.repositoryId}:${doc.order}`;
}

function compareDocs(a: Doc, b: Doc): number {
  return Number(a.repositoryId) - Number(b.repositoryId) || a.order - b.order;
}

/** Keeps the best `depth` hits (ties broken by position), returning the lowest score kept. */
function trim(top: Hit[], depth: number): number {
  top.sort((a, b) => b.score - a.score || compareDocs(a.doc, b.doc));
  top.length = Math.min(top.length, depth);
  return top.length >= depth ? top[top.length - 1]!.score : 0;
}
