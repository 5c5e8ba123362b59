/** Seconds spent per stage of a job; a stage entered several times (retries) adds up. */
export class StageTimer {
  readonly #ms = new Map<string, number>();

  async time<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.#ms.set(stage, (this.#ms.get(stage) ?? 0) + performance.now() - started);
    }
  }

  seconds(): Record<string, number> {
    return Object.fromEntries([...this.#ms].map(([stage, ms]) => [stage, Math.round(ms) / 1000]));
  }
}
