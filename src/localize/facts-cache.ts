import { readBlobs } from '../git/git-objects.js';
import type { TreeFile } from '../git/git-objects.js';
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
    const missing = files.filter((f) => !this.#facts.has(f.sha)).map((f) => f.sha);
    if (missing.length) {
      const blobs = await readBlobs(gitDir, [...new Set(missing)]);
      if (this.#facts.size + blobs.size > this.maxEntries) this.#facts.clear();
      for (const [sha, content] of blobs) this.#facts.set(sha, fileFacts(content.includes(0) ? '' : content.toString('utf8')));
    }
    return files.map((f) => this.#facts.get(f.sha)!);
  }
}
