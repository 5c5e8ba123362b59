import type { Queryable } from '../db/database.js';

/**
 * How many jobs wait for a worker, for the "Server at capacity" answer. Counting the queue on
 * every submission would cost more than the rest of the accept path once the queue is deep, so
 * the count is taken at most every `maxAgeMs` (concurrent callers share one query) and this
 * process's own acceptances are added as they happen. Other processes' acceptances within that
 * window can overshoot the limit slightly: capacity is back-pressure, not money.
 */
export class QueueDepth {
  readonly #db: Queryable;
  readonly #limit: number;
  readonly #maxAgeMs: number;
  #value = 0;
  #measuredAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<number> | null = null;

  constructor(db: Queryable, limit: number, maxAgeMs = 250) {
    this.#db = db;
    this.#limit = limit;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Whether the queue holds `limit` waiting jobs or more. */
  async atCapacity(): Promise<boolean> {
    return (await this.#current()) >= this.#limit;
  }

  /** Counts a job this process just enqueued, until the next measurement includes it. */
  noteEnqueued(): void {
    this.#value++;
  }

  #current(): Promise<number> {
    if (performance.now() - this.#measuredAt < this.#maxAgeMs) return Promise.resolve(this.#value);
    this.#pending ??= this.#measure().finally(() => (this.#pending = null));
    return this.#pending;
  }

  async #measure(): Promise<number> {
    // Bounded: the answer only matters up to the limit.
    const { rows } = await this.#db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM jobs WHERE state = 'queued' LIMIT $1) q`,
      [this.#limit],
    );
    this.#value = rows[0]!.n;
    this.#measuredAt = performance.now();
    return this.#value;
  }
}
