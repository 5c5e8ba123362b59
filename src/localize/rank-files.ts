import type { TreeFile } from '../git/git-objects.js';
import { definitionSignals } from './definition-signals.js';
import { type ExampleEvidence, executionSignals, raisedSignals } from './execution-signals.js';
import type { FactsCache } from './facts-cache.js';
import type { FileFacts } from './file-facts.js';
import { historySignals, noHistory, similarCommits, type SimilarCommit } from './history-signals.js';
import { filePrior, isCandidate, mainExtension } from './file-prior.js';
import type { ReportSignals } from './report-signals.js';
import { mentionSignals } from './mention-signals.js';
import { nameSignals } from './name-signals.js';
import type { SignalContext } from './signal-context.js';
import { textSignals } from './text-signals.js';

export interface RankedFile {
  path: string;
  score: number;
  reasons: string[];
  /** The evidence behind the score, each 0–1: for explaining and tuning the ranking. */
  signals: {
    paths: number;
    frames: number;
    modules: number;
    qualified: number;
    definitions: number;
    text: number;
    functions: number;
    names: number;
    history: number;
    /** The report's examples ran its code (execution-signals.ts); absent in rankings kept from before. */
    executed?: number;
    /** An error the report's examples raised went through it (execution-signals.ts); absent in rankings kept from before. */
    raised?: number;
    prior: number;
  };
}

export type FileSignals = RankedFile['signals'];

/** How much earlier commits about the same thing count (history-signals.ts): fitted on the dev file, 0.3–0.45 gave the same. */
const HISTORY_WEIGHT = 0.35;
/**
 * How much the report's examples running a file counts (execution-signals.ts). On the dev file,
 * 0.15 to 0.5 put the same files in the top eight; 0.25 is between.
 */
const EXECUTED_WEIGHT = 0.25;

/**
 * How much a traceback the report's examples raised counts, where a traceback the report shows
 * counts 0.8: it is evidence the reporter did not choose (an example may stop on a newer API the
 * commit lacks). On the dev file 14 of 169 reports raised from the repository's code; 0.2 to 1
 * put the same files in the top eight (one report more with every gold file there, none fewer).
 */
const RAISED_WEIGHT = 0.5;

/**
 * A file's score from its signals. Weights fitted by coordinate search on SWE-bench-style reports
 * (bench/localize.ts, the dev file); every signal is generic, and no rule names a project, a file
 * or an instance. The strongest direct mention counts (a path, a frame of our code, a module),
 * then the rest adds up.
 */
export function fileScore(s: FileSignals): number {
  const direct = Math.max(0.6 * s.paths, 0.8 * s.frames, 0.2 * s.modules, RAISED_WEIGHT * (s.raised ?? 0));
  return (
    (direct +
      0.2 * s.qualified +
      0.1 * s.definitions +
      0.3 * s.text +
      0.2 * s.functions +
      0.15 * s.names +
      HISTORY_WEIGHT * s.history +
      EXECUTED_WEIGHT * (s.executed ?? 0)) *
    s.prior
  );
}

const MAX_BLOB_BYTES = 1024 * 1024;

/**
 * Every candidate file of the commit, best first, with the tree it was chosen from and the past
 * commits that read like the report (which also point at functions: past-functions.ts).
 * `examples`: what the report's examples ran and where the errors they stopped on were raised.
 */
export async function rankFiles(
  gitDir: string,
  commit: string,
  report: ReportSignals,
  cache: FactsCache,
  examples: ExampleEvidence = {},
): Promise<{ files: RankedFile[]; tree: TreeFile[]; similar: SimilarCommit[] }> {
  const tree = (await cache.treeOf(gitDir, commit)).filter((f) => isCandidate(f.path) && f.size <= MAX_BLOB_BYTES);
  // The history is one signal among many: a history git cannot read (a mirror missing old
  // commits, a log past the output limit) ranks the files without it rather than failing the job.
  const [facts, history] = await Promise.all([cache.factsFor(gitDir, tree), cache.historyOf(gitDir, commit).catch(() => noHistory())]);
  const similar = similarCommits(report, history);
  return { files: rank(tree, facts, similar, report, examples), tree, similar };
}

function rank(
  tree: TreeFile[],
  facts: FileFacts[],
  similar: SimilarCommit[],
  report: ReportSignals,
  examples: ExampleEvidence,
): RankedFile[] {
  const context: SignalContext = { tree, facts, reasons: tree.map(() => []) };
  const mentions = mentionSignals(context, report);
  // Beside the report's own tracebacks, so that its reason is among the first shown.
  const raised = raisedSignals(context, examples.raised);
  const defined = definitionSignals(context, report);
  const names = nameSignals(context, report);
  const text = textSignals(context, report);
  const past = historySignals(context, similar);
  const ran = executionSignals(context, examples.executed);
  const main = mainExtension(tree);

  const ranked = tree.map((f, i) => {
    const p = filePrior(f.path, main);
    const signals = {
      paths: mentions.paths[i]!,
      frames: mentions.frames[i]!,
      modules: mentions.modules[i]!,
      qualified: defined.qualified[i]!,
      definitions: defined.definitions[i]!,
      text: text.file[i]!,
      functions: text.functions[i]!,
      names: names[i]!,
      history: past[i]!,
      executed: ran[i]!,
      raised: raised[i]!,
      prior: p.weight,
    };
    const why = [...new Set(context.reasons[i])];
    const lexical = Math.max(text.file[i]!, text.functions[i]!);
    if (lexical > 0.5) why.push(`text match ${lexical.toFixed(2)}`);
    if (text.functions[i]! > 0.5 && text.bestFunction[i]) why.push(`matching code: ${text.bestFunction[i]}`);
    if (p.why) why.push(p.why);
    return { path: f.path, score: fileScore(signals), reasons: why, signals };
  });
  return ranked.sort((a, b) => b.score - a.score);
}
