/**
 * The matches of the global `pattern` inside each match of the global `run` no longer than
 * `longest`. For a pattern that, failing, backtracks over the whole run of characters it may
 * span at every place it starts (`[\w.-]+\.py` over "a.a.a.…"): read over a 64 KB text that is
 * quadratic, seconds on the worker's thread; run by run it is bounded by `longest`. `run` must
 * match every character a match of `pattern` can hold, so that no match spans two runs.
 */
export function* matchesInRuns(text: string, run: RegExp, pattern: RegExp, longest: number): Generator<RegExpExecArray> {
  for (const span of text.matchAll(run)) {
    if (span[0].length <= longest) yield* span[0].matchAll(pattern);
  }
}
