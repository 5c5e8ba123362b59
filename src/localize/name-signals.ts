import type { ReportSignals } from './report-signals.js';
import { normalized, type SignalContext } from './signal-context.js';
import { tokenize } from '../code/tokenize.js';
import { treeIndexes } from './tree-indexes.js';

/** Files whose name (or folder) the report uses as a word, rarer names counting more; 0–1 per file. */
export function nameSignals({ tree, facts, reasons }: SignalContext, report: ReportSignals): number[] {
  const n = tree.length;
  // File and folder names the report uses as words ("linkcheck", "napoleon", "typehints").
  const words = new Set(tokenize(report.text));
  const { names: nameTerms, stemCount } = treeIndexes(tree, facts);
  const nameScore = new Float64Array(n);
  nameTerms.forEach(({ stem, dirs }, i) => {
    const stemIdf = Math.log(1 + n / stemCount.get(stem)!);
    if (stem.length >= 3 && words.has(stem)) {
      nameScore[i]! += stemIdf;
      reasons[i]!.push(`named in the report: ${stem}`);
    } else {
      // A name made of several words ("find_default_config_files") counts by the share it shares.
      const parts = stem.split('_').filter((p) => p.length >= 3);
      const hit = parts.filter((p) => words.has(p)).length;
      if (parts.length > 1 && hit > 0) nameScore[i]! += (stemIdf * hit) / parts.length / 2;
    }
    for (const dir of dirs) if (dir.length >= 3 && words.has(dir)) nameScore[i]! += 0.25;
  });

  return normalized(nameScore);
}
