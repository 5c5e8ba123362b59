import type { ReportSignals } from './report-signals.js';
import type { SignalContext } from './signal-context.js';
import { treeIndexes } from './tree-indexes.js';

/** How much a stack frame counts by its depth among the repository's own frames: 1 innermost, less further out. */
export function frameWeight(depth: number): number {
  return 1 / (1 + 0.5 * depth);
}

/** Number of trailing path segments two paths share (0 when the file names differ). */
function sharedTail(a: string[], b: string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

/**
 * Where the report points at files itself: paths it names, stack frames of the repository's own
 * code, and modules (dotted names, imports of its examples). Each score is 0–1 per file.
 */
export function mentionSignals({ tree, facts, reasons }: SignalContext, report: ReportSignals) {
  const n = tree.length;
  const { segments, byName, moduleIndex, reexports } = treeIndexes(tree, facts);
  const pathScore = new Float64Array(n);
  const frameScore = new Float64Array(n);
  const moduleScore = new Float64Array(n);

  // Paths and stack frames: the longest shared tail wins; a bare file name counts if it is unique.
  const matchPath = (path: string): Array<{ file: number; strength: number }> => {
    const wanted = path
      .replace(/^\.?\//, '')
      .split('/')
      .filter(Boolean);
    const candidates = byName.get(wanted.at(-1) ?? '') ?? [];
    let best = 0;
    const scored = candidates.map((file) => {
      const tail = sharedTail(wanted, segments[file]!);
      best = Math.max(best, tail);
      return { file, tail };
    });
    return scored
      .filter((c) => c.tail === best && (best >= 2 || candidates.length === 1))
      .map((c) => ({ file: c.file, strength: c.tail >= 2 || segments[c.file]!.length === 1 ? 1 : 0.6 }));
  };
  const framePaths = new Set(report.frames.map((f) => f.path.replaceAll('\\', '/')));
  for (const path of report.paths) {
    if (framePaths.has(path)) continue;
    for (const { file, strength } of matchPath(path)) {
      pathScore[file] = Math.max(pathScore[file]!, strength);
      reasons[file]!.push(`path mentioned: ${path}`);
    }
  }
  // Frames of the repository's own code, innermost first: frames in the reporter's script, the
  // standard library or other packages say nothing about which of our files to fix.
  const ownFrames = report.frames
    .map((frame) => ({ frame, files: matchPath(frame.path.replaceAll('\\', '/')) }))
    .filter((f) => f.files.length > 0)
    .sort((a, b) => a.frame.depth - b.frame.depth);
  ownFrames.forEach(({ frame, files }, depth) => {
    const weight = frameWeight(depth);
    for (const { file, strength } of files) {
      const defines = facts[file]!.definitions.has(frame.func);
      frameScore[file] = Math.max(frameScore[file]!, weight * strength * (defines ? 1 : 0.7));
      reasons[file]!.push(`stack frame ${depth === 0 ? '(innermost of ours) ' : ''}in ${frame.func}`);
    }
  });

  // Dotted module names: the longest prefix that is a module of the repository (or a name a package re-exports).
  for (const [dotted, weight] of report.modules) {
    const parts = dotted.split('.');
    for (let k = parts.length; k >= 2; k--) {
      const prefix = parts.slice(0, k).join('.');
      const file = moduleIndex.get(prefix) ?? reexports.get(prefix);
      if (file === undefined) continue;
      const strength = 0.75 * weight * (k === parts.length ? 1 : 0.9);
      if (strength > moduleScore[file]!) moduleScore[file] = strength;
      reasons[file]!.push(`module mentioned: ${dotted}`);
      break;
    }
  }
  // `from module import Name` where the module defines Name: the example exercises that code.
  for (const { module, name } of report.imports) {
    const file = moduleIndex.get(module);
    if (file !== undefined && facts[file]!.definitions.has(name)) {
      moduleScore[file] = Math.max(moduleScore[file]!, 0.5);
      reasons[file]!.push(`imported by the example: ${name}`);
    }
  }

  return { paths: pathScore, frames: frameScore, modules: moduleScore };
}
