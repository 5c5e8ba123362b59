import type { Queryable } from '../db/database.js';
import { termCounts } from '../code/bm25.js';
import { tokenize } from '../code/tokenize.js';
import { parseTerms } from './cut-blob.js';
import { bytesToVector } from './embeddings.js';

/** A file of a segment: the commit's path, its blob, and what the history says of it. */
export interface SegmentFile {
  path: string;
  blobSha: string;
  authors: string[];
  /** Lower-cased, for filtering. */
  authorKeys: Set<string>;
  firstDate: number | null;
  lastDate: number | null;
}

interface Posting {
  docs: Int32Array;
  tfs: Uint16Array;
}

function addPostings(into: Map<string, { docs: number[]; tfs: number[] }>, doc: number, terms: Iterable<[string, number]>): void {
  for (const [term, tf] of terms) {
    let posting = into.get(term);
    if (!posting) into.set(term, (posting = { docs: [], tfs: [] }));
    posting.docs.push(doc);
    posting.tfs.push(Math.min(tf, 65_535));
  }
}

/**
 * The searchable snippets of one repository at its indexed commit, held in memory: an inverted
 * index with term frequencies and document lengths, plus the metadata filters need. Built from
 * the rows the indexer stored, so every process (and either database) builds the same one.
 */
export class SearchSegment {
  readonly repositoryId: string;
  readonly commit: string;
  readonly files: SegmentFile[] = [];
  /** Per document (snippet occurrence): its snippet id, file, language and length. */
  readonly snippetIds: number[] = [];
  readonly fileOf: number[] = [];
  readonly languages: string[] = [];
  readonly lengths: number[] = [];
  readonly postings = new Map<string, Posting>();
  totalLength = 0;
  /** The same over the snippets' summaries (empty without a summary model): what `text` queries also rank. */
  readonly summaryPostings = new Map<string, Posting>();
  readonly summaryLengths: number[] = [];
  summaryTotalLength = 0;
  /** Vectors per model, loaded on first vector query; rows align with the documents. */
  readonly #vectors = new Map<string, Promise<Array<Float32Array | null>>>();

  private constructor(repositoryId: string, commit: string) {
    this.repositoryId = repositoryId;
    this.commit = commit;
  }

  get size(): number {
    return this.snippetIds.length;
  }

  /** `summaryModel`: whose summaries to index beside the code (null: none). */
  static async load(db: Queryable, repositoryId: string, commit: string, summaryModel: string | null = null): Promise<SearchSegment> {
    const segment = new SearchSegment(repositoryId, commit);
    const rows = await db.query<{
      path: string;
      blob_sha: string;
      authors: string[];
      first_date: Date | null;
      last_date: Date | null;
      id: string;
      language: string;
      terms: string;
      length: number;
      summary: string | null;
    }>(
      `SELECT f.path, f.blob_sha, f.authors, f.first_date, f.last_date, s.id, s.language, s.terms, s.length, m.summary
         FROM code_files f JOIN code_snippets s ON s.blob_sha = f.blob_sha
         LEFT JOIN code_summaries m ON m.content_sha = s.content_sha AND m.model = $3
        WHERE f.repository_id = $1 AND f.commit_sha = $2 AND f.indexed
        ORDER BY f.path, s.ordinal`,
      [repositoryId, commit, summaryModel ?? ''],
    );
    const building = new Map<string, { docs: number[]; tfs: number[] }>();
    const summaries = new Map<string, { docs: number[]; tfs: number[] }>();
    let lastPath: string | null = null;
    for (const row of rows.rows) {
      if (row.path !== lastPath) {
        lastPath = row.path;
        segment.files.push({
          path: row.path,
          blobSha: row.blob_sha,
          authors: row.authors,
          authorKeys: new Set(row.authors.map((a) => a.toLowerCase())),
          firstDate: row.first_date ? new Date(row.first_date).getTime() : null,
          lastDate: row.last_date ? new Date(row.last_date).getTime() : null,
        });
      }
      const doc = segment.snippetIds.length;
      segment.snippetIds.push(Number(row.id));
      segment.fileOf.push(segment.files.length - 1);
      segment.languages.push(row.language);
      segment.lengths.push(row.length);
      segment.totalLength += row.length;
      addPostings(building, doc, parseTerms(row.terms));
      const summaryTerms = row.summary ? termCounts(tokenize(row.summary)) : new Map<string, number>();
      const summaryLength = [...summaryTerms.values()].reduce((n, tf) => n + tf, 0);
      segment.summaryLengths.push(summaryLength);
      segment.summaryTotalLength += summaryLength;
      addPostings(summaries, doc, summaryTerms);
    }
    for (const [term, p] of building) segment.postings.set(term, { docs: Int32Array.from(p.docs), tfs: Uint16Array.from(p.tfs) });
    for (const [term, p] of summaries) segment.summaryPostings.set(term, { docs: Int32Array.from(p.docs), tfs: Uint16Array.from(p.tfs) });
    return segment;
  }

  documentFrequency(term: string, field: 'code' | 'summary' = 'code'): number {
    return (field === 'code' ? this.postings : this.summaryPostings).get(term)?.docs.length ?? 0;
  }

  /** The model's vector of each document (null where none was stored). */
  vectors(db: Queryable, model: string): Promise<Array<Float32Array | null>> {
    let loaded = this.#vectors.get(model);
    if (!loaded) {
      loaded = (async () => {
        const rows = await db.query<{ snippet_id: string; vector: Uint8Array }>(
          `SELECT DISTINCT e.snippet_id, e.vector FROM code_files f
             JOIN code_snippets s ON s.blob_sha = f.blob_sha JOIN code_embeddings e ON e.snippet_id = s.id AND e.model = $3
            WHERE f.repository_id = $1 AND f.commit_sha = $2 AND f.indexed`,
          [this.repositoryId, this.commit, model],
        );
        const byId = new Map(rows.rows.map((r) => [Number(r.snippet_id), bytesToVector(r.vector)]));
        return this.snippetIds.map((id) => byId.get(id) ?? null);
      })();
      this.#vectors.set(model, loaded);
    }
    return loaded;
  }
}
