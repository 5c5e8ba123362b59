import type { SignalContext } from './signal-context.js';

/** The repository's files a report's examples called into, each with the functions called by qualified name (`Float.__eq__`; fix/trace-examples.ts). */
export type ExecutedFunctions = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Files the report's examples ran code of: 1, else 0. Binary on purpose: how many functions of a
 * file ran says more about the file's size and role (core modules run for everything) than about
 * the bug.
 */
export function executionSignals({ tree, reasons }: SignalContext, executed: ExecutedFunctions | undefined): number[] {
  return tree.map((f, i) => {
    const names = executed?.get(f.path);
    if (!names) return 0;
    reasons[i]!.push(`ran when the report's example ran (${[...names].slice(0, 3).join(', ')})`);
    return 1;
  });
}
