import { Bm25 } from '../code/bm25.js';
import { readBlobs } from '../git/git-objects.js';
import type { RankedFile } from './rank-files.js';
import type { ReportSignals } from './report-signals.js';
import type { Snippet } from '../code/snippets.js';
import { isParsed, parsedBlob } from './parsed-blobs.js';
import { boostCallees } from './boost-callees.js';
import { messageFragments } from './message-fragments.js';
import type { PastFunctions } from './past-functions.js';
import type { ExecutedFunctions } from './execution-signals.js';

/** The gain of a function holding the fixed words of an error message the report quotes: it likely raises it. */
const MESSAGE_WEIGHT = 0.4;

/** The gain of a constructor of a class the report names (`Rational('0.5', '100')` runs `Rational.__new__`), times how strongly it is named. */
const CONSTRUCTOR_WEIGHT = 0.3;
const CONSTRUCTORS = new Set(['__init__', '__new__', 'constructor', 'new', 'initialize', '__construct']);

/**
 * The gain of a function past commits like the report changed (past-functions.ts), times its share
 * of their votes. Light: on the dev file 0.1 showed every gold line for two more reports, and
 * from 0.2 up it pushed out more than it brought in.
 */
const PAST_WEIGHT = 0.1;

/**
 * The gain of a function the report's examples called (fix/trace-examples.ts), matched by its
 * qualified name. On the dev file every gold line was shown for 135 reports at 0.1–0.3 (at
 * 0.45, 134: a long file's called helpers crowd out the function to fix), 131 with the file
 * signal alone and 132 without either.
 */
const EXECUTED_FUNCTION_WEIGHT = 0.2;

export interface RankedSnippet extends Omit<Snippet, 'text'> {
  path: string;
  score: number;
  reasons: string[];
  text: string;
}

/**
 * Ranks the functions, methods and classes of the best files: the file's own rank, the report
 * naming the definition (or its class and member), a stack frame in it, how well its text
 * matches, holding an error message the report quotes, having been changed by past commits
 * like the report (options.past), and being called by the best of them.
 * A class of more than 400 lines is ranked by its head (parsed-blobs.ts): its methods are ranked on their own.
 */
export async function rankSnippets(
  gitDir: string,
  shaOf: (path: string) => string | undefined,
  report: ReportSignals,
  files: RankedFile[],
  options: { files?: number; limit?: number; past?: PastFunctions; executed?: ExecutedFunctions } = {},
): Promise<RankedSnippet[]> {
  const top = files.slice(0, options.files ?? 8);
  if (top.length === 0) return [];
  // Only blobs not parsed before are read.
  const blobs = await readBlobs(
    gitDir,
    top.flatMap((f) => {
      const sha = shaOf(f.path);
      return sha && !isParsed(sha, f.path) ? [sha] : [];
    }),
  );
  // Innermost frames first: the closer to where the error was raised, the more it says.
  const frameDepth = new Map<string, number>();
  for (const f of [...report.frames].sort((a, b) => a.depth - b.depth))
    if (!frameDepth.has(f.func)) frameDepth.set(f.func, frameDepth.size);
  const qualified = new Set(report.qualified.map((q) => `${q.owner}.${q.member}`));
  const topScore = top[0]!.score || 1;
  const messages = messageFragments(report.text);

  const candidates: Array<{ file: RankedFile; snippet: Snippet }> = [];
  const bm25 = new Bm25();
  for (const file of top) {
    const sha = shaOf(file.path);
    if (!sha) continue;
    const content = blobs.get(sha);
    if (!isParsed(sha, file.path) && (!content || content.includes(0))) continue;
    const blob = await parsedBlob(sha, file.path, () => content!.toString('utf8'));
    blob.snippets.forEach((snippet, i) => {
      candidates.push({ file, snippet });
      bm25.add(blob.terms[i]!, blob.lengths[i]!);
    });
  }
  const text = bm25.score(report.query);
  const maxText = Math.max(...text, 1e-9);

  const ranked = candidates.map(({ file, snippet }, i) => {
    const reasons: string[] = [];
    // The file's rank weighs 0.4: at 0.5 the best file's weak functions came before a second
    // file's matching ones (dev file, every gold line shown: 0.3 75.7%, 0.35 76.9%, 0.4 78.1%,
    // 0.45 76.9%, 0.5 76.3%; the text's 0.3 measured best beside it).
    let score = 0.4 * (file.score / topScore) + 0.3 * (text[i]! / maxText);
    const owner = snippet.enclosing ? report.identifiers.get(snippet.enclosing) : undefined;
    if (owner !== undefined && CONSTRUCTORS.has(snippet.name) && !qualified.has(snippet.qualifiedName)) {
      score += CONSTRUCTOR_WEIGHT * owner;
      reasons.push(`constructor of ${snippet.enclosing}, named in the report`);
    }
    if (qualified.has(snippet.qualifiedName)) {
      score += 0.6;
      reasons.push(`named in the report: ${snippet.qualifiedName}`);
    } else if (report.identifiers.has(snippet.name)) {
      score += 0.35 * report.identifiers.get(snippet.name)!;
      reasons.push(`named in the report: ${snippet.name}`);
    }
    const depth = frameDepth.get(snippet.name);
    if (depth !== undefined) {
      score += 0.3 + 0.3 / (1 + depth);
      reasons.push(depth === 0 ? 'innermost frame of the stack trace' : 'in the stack trace');
    }
    const message = snippet.kind === 'class' ? undefined : messages.find((m) => snippet.text.includes(m));
    if (message !== undefined) {
      score += MESSAGE_WEIGHT;
      reasons.push(`holds the message quoted: ${message}`);
    }
    const past = options.past?.get(file.path)?.get(snippet.name);
    if (past !== undefined) {
      score += PAST_WEIGHT * past;
      if (past > 0.3) reasons.push('changed by earlier commits about the same thing');
    }
    const ran = options.executed?.get(file.path);
    // Before 3.11 Python names a method without its class: the bare name is all there is.
    if (snippet.kind !== 'lines' && ran && (ran.has(snippet.qualifiedName) || ran.has(snippet.name))) {
      score += EXECUTED_FUNCTION_WEIGHT;
      reasons.push(`ran when the report's example ran`);
    }
    if (text[i]! / maxText > 0.5) reasons.push(`text match ${(text[i]! / maxText).toFixed(2)}`);
    return { ...snippet, path: file.path, score, reasons };
  });
  boostCallees(ranked);
  return ranked.sort((a, b) => b.score - a.score).slice(0, options.limit ?? 20);
}
