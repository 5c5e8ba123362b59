import type { ChatCompletion } from './chat-model.js';

/** What a run of model calls has cost so far. */
export interface UsageTotals {
  promptTokens: number;
  completionTokens: number;
  /** Dollars, not cents: one call costs fractions of a cent. */
  costUsd: number;
  calls: number;
}

/** Adds up the usage of the model calls of one job (or one benchmark run). */
export class UsageMeter {
  #totals: UsageTotals = { promptTokens: 0, completionTokens: 0, costUsd: 0, calls: 0 };

  add(completion: Pick<ChatCompletion, 'usage' | 'costUsd'>): void {
    this.#totals.promptTokens += completion.usage.promptTokens;
    this.#totals.completionTokens += completion.usage.completionTokens;
    this.#totals.costUsd += completion.costUsd;
    this.#totals.calls += 1;
  }

  /** A copy, so a caller's snapshot does not change under it. */
  get totals(): UsageTotals {
    return { ...this.#totals };
  }
}
