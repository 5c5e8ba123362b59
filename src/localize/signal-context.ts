import type { FileFacts } from './file-facts.js';
import type { TreeFile } from '../git/git-objects.js';

/** The files a localization ranks, what is known of each, and the reasons collected for each. */
export interface SignalContext {
  tree: TreeFile[];
  facts: FileFacts[];
  /** reasons[i]: why file i scored, in words, for people. */
  reasons: string[][];
}

/** Scores scaled so the best file has 1 (all zeros stay zeros). */
export function normalized(scores: ArrayLike<number>): number[] {
  let max = 0;
  for (let i = 0; i < scores.length; i++) max = Math.max(max, scores[i]!);
  return Array.from(scores, (s) => (max > 0 ? s / max : 0));
}
