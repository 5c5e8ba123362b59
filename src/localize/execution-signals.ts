import { frameWeight } from './mention-signals.js';
import type { SignalContext } from './signal-context.js';

/** The repository's files a report's examples called into, each with the functions called by qualified name (`Float.__eq__`; fix/trace-examples.ts). */
export type ExecutedFunctions = ReadonlyMap<string, ReadonlySet<string>>;

/** What running the report's examples showed, when they ran. */
export interface ExampleEvidence {
  executed?: ExecutedFunctions;
  raised?: readonly RaisedFrame[];
}

/** A function of the repository in the traceback of an error the report's examples stopped on; depth 0 is the innermost. */
export interface RaisedFrame {
  path: string;
  func: string;
  depth: number;
}

/** The innermost frame of a file among the tracebacks, if it is in any. */
function innermost(raised: readonly RaisedFrame[] | undefined, path: string): RaisedFrame | undefined {
  let best: RaisedFrame | undefined;
  for (const frame of raised ?? []) if (frame.path === path && (!best || frame.depth < best.depth)) best = frame;
  return best;
}

/** How close to where an error was raised a file's code was, 0–1: as a frame of a report's own traceback counts. */
export function raisedScore(raised: readonly RaisedFrame[] | undefined, path: string): number {
  const frame = innermost(raised, path);
  return frame ? frameWeight(frame.depth) : 0;
}

/**
 * Files in the tracebacks of the errors the report's examples stopped on, the innermost counting
 * most: the example reproduced a failure there, as a traceback pasted in the report would show.
 */
export function raisedSignals({ tree, reasons }: SignalContext, raised: readonly RaisedFrame[] | undefined): number[] {
  return tree.map((f, i) => {
    const frame = innermost(raised, f.path);
    if (!frame) return 0;
    reasons[i]!.push(
      `the report's example raised an error ${frame.depth === 0 ? 'here' : 'through here'} (in ${frame.func.slice(0, 100)})`,
    );
    return frameWeight(frame.depth);
  });
}

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
