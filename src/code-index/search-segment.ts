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

/**
 * An inverted index in four flat arrays rather than a map of small arrays: term i's postings are
 * docs/tfs[offsets[i] … offsets[i+1]), terms sorted (by UTF-16 code units) for a binary search.
 * Flat arrays cost a few bytes per posting instead of an object per term, and are stored as is.
 */
export interface TermIndex {
  terms: string[];
  offsets: Int32Array;
  docs: Int32Array;
  tfs: Uint16Array;
}

/** The position of the term in the index, or -1. */
export function findTerm(index: TermIndex, term: string): number {
  let lo = 0;
  let hi = index.terms.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const t = index.terms[mid]!;
    if (t === term) return mid;
    if (t < term) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** What a segment is made of: built from rows, or decoded from its stored form. */
export interface SegmentParts {
  files: SegmentFile[];
  snippetIds: Float64Array;
  fileOf: Int32Array;
  languages: string[];
  lengths: Int32Array;
  code: TermIndex;
  summaryLengths: Int32Array;
  summary: TermIndex;
}

/** V8's one-byte string: a 16-byte header, the characters rounded up to 8, and the slot holding it. */
const stringBytes = (s: string) => 24 + Math.ceil(s.length / 8) * 8;
const POINTER = 8;

/**
 * The searchable snippets of one repository at its indexed commit, held in memory: an inverted
 * index with term frequencies and document lengths over the code (and over the snippets'
 * summaries), plus the metadata filters need. Built from the rows the indexer stored, or decoded
 * from the stored form the index run wrote (segment-store.ts): both give the same segment.
 */
export class SearchSegment {
  readonly repositoryId: string;
  readonly commit: string;
  readonly files: SegmentFile[];
  /** Per document (snippet occurrence): its snippet id, file, language and length. */
  readonly snippetIds: Float64Array;
  readonly fileOf: Int32Array;
  readonly languages: string[];
  readonly lengths: Int32Array;
  readonly code: TermIndex;
  readonly totalLength: number;
  /** The same over the snippets' summaries (empty without a summary model): what `text` queries also rank. */
  readonly summaryLengths: Int32Array;
  readonly summary: TermIndex;
  readonly summaryTotalLength: number;
  /** Vectors per model, loaded on first vector query; rows align with the documents. */
  readonly #vectors = new Map<string, Promise<Array<Float32Array | null>>>();
  #vectorBytes = 0;
  readonly #baseBytes: number;

  constructor(repositoryId: string, commit: string, parts: SegmentParts) {
    this.repositoryId = repositoryId;
    this.commit = commit;
    this.files = parts.files;
    this.snippetIds = parts.snippetIds;
    this.fileOf = parts.fileOf;
    this.languages = parts.languages;
    this.lengths = parts.lengths;
    this.code = parts.code;
    this.summaryLengths = parts.summaryLengths;
    this.summary = parts.summary;
    this.totalLength = sum(parts.lengths);
    this.summaryTotalLength = sum(parts.summaryLengths);
    this.#baseBytes = estimateBytes(parts);
  }

  get size(): number {
    return this.snippetIds.length;
  }

  /**
   * An estimate of the memory the segment holds: its typed arrays' bytes, a pointer per array
   * slot, and each distinct string (terms, paths, authors); vectors once loaded. Languages point
   * at a handful of shared strings and are counted as pointers.
   */
  byteSize(): number {
    return this.#baseBytes + this.#vectorBytes;
  }

  index(field: 'code' | 'summary'): TermIndex {
    return field === 'code' ? this.code : this.summary;
  }

  documentFrequency(term: string, field: 'code' | 'summary' = 'code'): number {
    const index = this.index(field);
    const i = findTerm(index, term);
    return i < 0 ? 0 : index.offsets[i + 1]! - index.offsets[i]!;
  }

  /** Builds the segment from the stored rows: files × snippets (their terms), and summaries of `summaryModel` (null: none). */
  static async build(db: Queryable, repositoryId: string, commit: string, summaryModel: string | null = null): Promise<SearchSegment> {
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
    const n = rows.rows.length;
    const files: SegmentFile[] = [];
    const snippetIds = new Float64Array(n);
    const fileOf = new Int32Array(n);
    const languages: string[] = [];
    const lengths = new Int32Array(n);
    const summaryLengths = new Int32Array(n);
    const code = new IndexBuilder();
    const summary = new IndexBuilder();
    const languageNames = new Map<string, string>();
    let lastPath: string | null = null;
    rows.rows.forEach((row, doc) => {
      if (row.path !== lastPath) {
        lastPath = row.path;
        files.push(segmentFile(row.path, row.blob_sha, row.authors, time(row.first_date), time(row.last_date)));
      }
      snippetIds[doc] = Number(row.id);
      fileOf[doc] = files.length - 1;
      if (!languageNames.has(row.language)) languageNames.set(row.language, row.language);
      languages.push(languageNames.get(row.language)!);
      lengths[doc] = row.length;
      code.add(doc, parseTerms(row.terms));
      const summaryTerms = row.summary ? termCounts(tokenize(row.summary)) : new Map<string, number>();
      summaryLengths[doc] = [...summaryTerms.values()].reduce((s, tf) => s + tf, 0);
      summary.add(doc, summaryTerms);
    });
    return new SearchSegment(repositoryId, commit, {
      files,
      snippetIds,
      fileOf,
      languages,
      lengths,
      code: code.build(),
      summaryLengths,
      summary: summary.build(),
    });
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
        const vectors = Array.from(this.snippetIds, (id) => byId.get(id) ?? null);
        this.#vectorBytes += vectors.reduce((n, v) => n + POINTER + (v ? 64 + v.byteLength : 0), 0);
        return vectors;
      })();
      this.#vectors.set(model, loaded);
    }
    return loaded;
  }
}

/** A file entry, with the lower-cased authors filters match against. */
export function segmentFile(
  path: string,
  blobSha: string,
  authors: string[],
  firstDate: number | null,
  lastDate: number | null,
): SegmentFile {
  return { path, blobSha, authors, authorKeys: new Set(authors.map((a) => a.toLowerCase())), firstDate, lastDate };
}

function time(date: Date | null): number | null {
  return date ? new Date(date).getTime() : null;
}

function sum(values: Int32Array): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** Collects postings document by document, then lays them out as a TermIndex. */
class IndexBuilder {
  readonly #postings = new Map<string, number[]>();

  add(doc: number, terms: Iterable<[string, number]>): void {
    for (const [term, tf] of terms) {
      let posting = this.#postings.get(term);
      if (!posting) this.#postings.set(term, (posting = []));
      posting.push(doc, Math.min(tf, 65_535));
    }
  }

  build(): TermIndex {
    const terms = [...this.#postings.keys()].sort();
    const offsets = new Int32Array(terms.length + 1);
    let total = 0;
    terms.forEach((term, i) => {
      offsets[i] = total;
      total += this.#postings.get(term)!.length / 2;
    });
    offsets[terms.length] = total;
    const docs = new Int32Array(total);
    const tfs = new Uint16Array(total);
    terms.forEach((term, i) => {
      const posting = this.#postings.get(term)!;
      for (let k = 0, at = offsets[i]!; k < posting.length; k += 2, at++) {
        docs[at] = posting[k]!;
        tfs[at] = posting[k + 1]!;
      }
    });
    return { terms, offsets, docs, tfs };
  }
}

function estimateBytes(parts: SegmentParts): number {
  const arrays: Array<Float64Array | Int32Array | Uint16Array> = [parts.snippetIds, parts.fileOf, parts.lengths, parts.summaryLengths];
  for (const index of [parts.code, parts.summary]) arrays.push(index.offsets, index.docs, index.tfs);
  let bytes = arrays.reduce((n, a) => n + 64 + a.byteLength, 0);
  for (const index of [parts.code, parts.summary]) for (const t of index.terms) bytes += stringBytes(t);
  bytes += parts.languages.length * POINTER;
  for (const f of parts.files) {
    // The object, its two strings, the authors array and the set of their lower-cased keys.
    bytes += 72 + stringBytes(f.path) + stringBytes(f.blobSha) + 32 + 64;
    for (const a of f.authors) bytes += 2 * stringBytes(a) + 32;
  }
  return bytes;
}
