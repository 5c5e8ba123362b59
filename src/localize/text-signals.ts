import { createHash } from 'node:crypto';
import { Bm25, termCounts } from '../code/bm25.js';
import type { ReportSignals } from './report-signals.js';
import { normalized, type SignalContext } from './signal-context.js';
import { tokenize } from '../code/tokenize.js';
import type { TreeFile } from '../git/git-objects.js';
import type { FileFacts } from './file-facts.js';

interface TreeIndexes {
  bm25: Bm25;
  chunkIndex: Bm25;
  chunkFile: number[];
  chunkName: string[];
}

/**
 * The indexes of the last two trees (a worker runs two jobs at once). An agent searches one
 * commit many times (search_code), and building them is most of a search (190 ms over sympy's
 * 24k functions); they are a function of the tree's paths and blobs alone.
 */
const recent = new Map<string, TreeIndexes>();
const RECENT_TREES = 2;

function indexesFor(tree: readonly TreeFile[], facts: readonly FileFacts[]): TreeIndexes {
  const hash = createHash('sha1');
  for (const f of tree) hash.update(f.path).update('\0').update(f.sha).update('\n');
  const key = hash.digest('hex');
  const known = recent.get(key);
  if (known) {
    // Most recently used last.
    recent.delete(key);
    recent.set(key, known);
    return known;
  }
  const bm25 = new Bm25();
  facts.forEach((f) => bm25.add(f.terms, f.length));
  const chunkIndex = new Bm25();
  const chunkFile: number[] = [];
  const chunkName: string[] = [];
  facts.forEach((f, i) => {
    for (const c of f.chunks) {
      chunkIndex.add(c.terms, c.length);
      chunkFile.push(i);
      chunkName.push(`${c.name} (line ${c.startLine})`);
    }
  });
  const built = { bm25, chunkIndex, chunkFile, chunkName };
  recent.set(key, built);
  if (recent.size > RECENT_TREES) recent.delete(recent.keys().next().value!);
  return built;
}

/**
 * How well the report's words match each file (BM25 over code-aware tokens) and the file's best
 * function or class; both 0–1 per file, with the name of that best function.
 */
export function textSignals({ tree, facts }: SignalContext, report: ReportSignals) {
  const n = tree.length;
  const { bm25, chunkIndex, chunkFile, chunkName } = indexesFor(tree, facts);
  // Lexical match of the whole report.
  const query = termCounts(tokenize(report.text));
  for (const [t, c] of query) query.set(t, Math.min(3, c));
  // The title names the broken thing: its words count double.
  for (const t of new Set(tokenize(report.title))) query.set(t, (query.get(t) ?? 0) + 2);
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
