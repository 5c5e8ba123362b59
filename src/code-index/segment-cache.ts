import type { SearchSegment } from './search-segment.js';

/** A segment lent to one search: held (never evicted) until released. */
export interface SegmentLease {
  segment: SearchSegment;
  release(): void;
}

/** What the cache holds, for operators and tests. */
export interface HeldSegment {
  repositoryId: string;
  commit: string;
  bytes: number;
  inUse: boolean;
}

interface Entry {
  repositoryId: string;
  commit: string;
  segment: Promise<SearchSegment>;
  /** The segment's estimated size once loaded (0 while loading). */
  bytes: number;
  /** Searches using it now. */
  leases: number;
}

/**
 * Search segments under a memory budget, one per repository (at its searchable commit), least
 * recently used evicted when the held total passes the budget. A leased segment is never evicted:
 * a search over more than fits still runs, and the cache shrinks back to the budget as leases end.
 * Loads are shared: concurrent searches of a segment being loaded wait for the same load.
 */
export class SegmentCache {
  readonly #budget: number;
  readonly #load: (repositoryId: string, commit: string) => Promise<SearchSegment>;
  /** In recency order: the first entry is the least recently used. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #loads = 0;
  #evictions = 0;

  constructor(budgetBytes: number, load: (repositoryId: string, commit: string) => Promise<SearchSegment>) {
    this.#budget = budgetBytes;
    this.#load = load;
  }

  /** The repository's segment at the commit, loaded when the cache holds none (or another commit's). */
  async lease(repositoryId: string, commit: string): Promise<SegmentLease> {
    let entry = this.#entries.get(repositoryId);
    if (entry && entry.commit !== commit) {
      this.#remove(entry);
      entry = undefined;
    }
    if (entry) {
      // Most recently used: to the end of the order.
      this.#entries.delete(repositoryId);
      this.#entries.set(repositoryId, entry);
    } else {
      entry = { repositoryId, commit, segment: this.#load(repositoryId, commit), bytes: 0, leases: 0 };
      this.#loads++;
      this.#entries.set(repositoryId, entry);
      const loaded = entry;
      loaded.segment.then(
        (segment) => {
          if (this.#entries.get(repositoryId) !== loaded) return;
          loaded.bytes = segment.byteSize();
          this.#bytes += loaded.bytes;
          this.#evict();
        },
        () => {
          if (this.#entries.get(repositoryId) === loaded) this.#remove(loaded);
        },
      );
    }
    const held = entry;
    held.leases++;
    let segment: SearchSegment;
    try {
      segment = await held.segment;
    } catch (err) {
      held.leases--;
      throw err;
    }
    let released = false;
    return {
      segment,
      release: () => {
        if (released) return;
        released = true;
        held.leases--;
        if (this.#entries.get(repositoryId) === held) {
          // Vectors loaded during the search count from now on.
          const bytes = segment.byteSize();
          this.#bytes += bytes - held.bytes;
          held.bytes = bytes;
        }
        this.#evict();
      },
    };
  }

  /** Drops the repository's segment (a deleted repository). */
  forget(repositoryId: string): void {
    const entry = this.#entries.get(repositoryId);
    if (entry) this.#remove(entry);
  }

  /** The estimated bytes of the segments held. */
  heldBytes(): number {
    return this.#bytes;
  }

  held(): HeldSegment[] {
    return [...this.#entries.values()].map((e) => ({
      repositoryId: e.repositoryId,
      commit: e.commit,
      bytes: e.bytes,
      inUse: e.leases > 0,
    }));
  }

  /** Segments loaded and evicted since the start. */
  counts(): { loads: number; evictions: number } {
    return { loads: this.#loads, evictions: this.#evictions };
  }

  #remove(entry: Entry): void {
    this.#entries.delete(entry.repositoryId);
    this.#bytes -= entry.bytes;
    entry.bytes = 0;
  }

  #evict(): void {
    for (const entry of this.#entries.values()) {
      if (this.#bytes <= this.#budget) return;
      if (entry.leases > 0 || entry.bytes === 0) continue;
      this.#remove(entry);
      this.#evictions++;
    }
  }
}
