/** Okapi BM25 over a fixed set of documents, with an inverted index for fast queries. */
export class Bm25 {
  readonly #postings = new Map<string, { docs: number[]; tfs: number[] }>();
  readonly #lengths: number[] = [];
  readonly #k1: number;
  readonly #b: number;
  #avg = 0;

  constructor(options: { k1?: number; b?: number } = {}) {
    this.#k1 = options.k1 ?? 1.2;
    this.#b = options.b ?? 0.75;
  }

  get size(): number {
    return this.#lengths.length;
  }

  /** Adds a document by its term counts and length in tokens; returns its number. */
  add(counts: ReadonlyMap<string, number>, length: number): number {
    const doc = this.#lengths.length;
    for (const [term, tf] of counts) {
      let posting = this.#postings.get(term);
      if (!posting) this.#postings.set(term, (posting = { docs: [], tfs: [] }));
      posting.docs.push(doc);
      posting.tfs.push(tf);
    }
    this.#lengths.push(length);
    this.#avg += (length - this.#avg) / this.#lengths.length;
    return doc;
  }

  /** Inverse document frequency of a term (BM25+ style, never negative). */
  idf(term: string): number {
    const n = this.#postings.get(term)?.docs.length ?? 0;
    return Math.log(1 + (this.size - n + 0.5) / (n + 0.5));
  }

  /** Scores of every document for the query; each distinct query term counts once, weighted. */
  score(query: ReadonlyMap<string, number>): Float64Array {
    const scores = new Float64Array(this.size);
    for (const [term, weight] of query) {
      const posting = this.#postings.get(term);
      if (!posting) continue;
      const idf = this.idf(term) * weight;
      for (let i = 0; i < posting.docs.length; i++) {
        const doc = posting.docs[i]!;
        const tf = posting.tfs[i]!;
        const norm = this.#k1 * (1 - this.#b + (this.#b * this.#lengths[doc]!) / (this.#avg || 1));
        scores[doc]! += (idf * tf * (this.#k1 + 1)) / (tf + norm);
      }
    }
    return scores;
  }
}

/** Term counts of a token list, the form Bm25.add and queries take. */
export function termCounts(tokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}
