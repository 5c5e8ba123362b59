import type { ReportSignals } from './report-signals.js';
import { normalized, type SignalContext } from './signal-context.js';
import { treeIndexes } from './tree-indexes.js';

/**
 * How well the report's words match each file (BM25 over code-aware tokens) and the file's best
 * function or class; both 0–1 per file, with the name of that best function.
 */
export function textSignals({ tree, facts }: SignalContext, report: ReportSignals) {
  const n = tree.length;
  const { bm25, chunkIndex, chunkFile, chunkName } = treeIndexes(tree, facts);
  // Lexical match of the whole report.
  const { query } = report;
  const fileLexical = normalized(bm25.score(query));
  // The same query over functions and classes: a focused match in one method of a long file
  // is not drowned by the rest of the file.
  const chunkScores = chunkIndex.score(query);
  const bestChunk = new Float64Array(n);
  const bestChunkAt = new Int32Array(n).fill(-1);
  chunkScores.forEach((score, c) => {
    const file = chunkFile[c]!;
    if (score > bestChunk[file]!) {
      bestChunk[file] = score;
      bestChunkAt[file] = c;
    }
  });
  const chunkLexical = normalized(bestChunk);
  return {
    file: fileLexical,
    functions: chunkLexical,
    bestFunction: Array.from(bestChunkAt, (c) => (c >= 0 ? chunkName[c]! : null)),
  };
}
