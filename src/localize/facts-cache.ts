import { readBlobs, type TreeFile } from '../git/git-objects.js';
import { type FileFacts, fileFacts } from './file-facts.js';

/**
 * What localization knows of each blob (its definitions, imports, tokens). Facts are a function
 * of the blob alone, so they survive from one commit to the next: whoever localizes many reports
 * (a worker, a benchmark) keeps one cache; it is emptied whole when it passes `maxEntries`.
 */
export class FactsCache {
  readonly #facts = new Map<string, FileFacts>();

  constructor(private readonly maxEntries = 200_000) {}

  /** The facts of each file, reading only the blobs not seen before. */
  async factsFor(gitDir: string, files: TreeFile[]): Promise<FileFacts[]> {
    // This call's answers are kept apart from the cache, which may be emptied half-way.
    const found = new Map<string, FileFacts>();
    for (const f of files) {
      const facts = this.#facts.get(f.sha);
      if (facts) found.set(f.sha, facts);
    }
    const missing = [...new Set(files.filter((f) => !found.has(f.sha)).map((f) => f.sha))];
    if (missing.length) {
      const blobs = await readBlobs(gitDir, missing);
      if (this.#facts.size + blobs.size > this.maxEntries) this.#facts.clear();
      for (const [sha, content] of blobs) {
        const facts = fileFacts(content.includes(0) ? '' : content.toString('utf8'));
        found.set(sha, facts);
        this.#facts.set(sha, facts);
      }
    }
    return files.map((f) => found.get(f.sha)!);
  }
}
