import type { ReportSignals } from './report-signals.js';
import { normalized, type SignalContext } from './signal-context.js';
import { treeIndexes } from './tree-indexes.js';

/**
 * Which files define what the report names: "Class.member" pairs (both defined in the file), and
 * the identifiers it uses, rarer names counting more. Scores are 0–1 per file.
 */
export function definitionSignals({ tree, facts, reasons }: SignalContext, report: ReportSignals) {
  const n = tree.length;
  const { definedIn } = treeIndexes(tree, facts);
  const qualifiedScore = new Float64Array(n);
  for (const { owner, member } of report.qualified) {
    for (const file of definedIn.get(owner) ?? []) {
      if (!facts[file]!.definitions.has(member)) continue;
      qualifiedScore[file] = 1;
      reasons[file]!.push(`defines ${owner}.${member}`);
    }
  }

  // The strongest name counts whole, the others by half: a file defining hundreds of names
  // should not win on the sheer number of common ones the report happens to use.
  const defBest = new Float64Array(n);
  const defRest = new Float64Array(n);
  for (const [id, weight] of report.identifiers) {
    const files = definedIn.get(id);
    if (!files || files.length > 25) continue;
    const value = weight * Math.log(1 + n / files.length);
    for (const file of files) {
      defRest[file]! += Math.min(value, defBest[file]!);
      defBest[file] = Math.max(defBest[file]!, value);
      if (reasons[file]!.length < 8) reasons[file]!.push(`defines ${id}`);
    }
  }
  const defScore = defBest.map((best, i) => best + 0.5 * defRest[i]!);

  return { qualified: qualifiedScore, definitions: normalized(defScore) };
}
