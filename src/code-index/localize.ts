import { Bm25, termCounts } from './bm25.js';
import { type FileFacts, fileFacts } from './file-facts.js';
import { listTree, readBlobs, type TreeFile } from './git-objects.js';
import { readReport, type ReportSignals } from './report-signals.js';
import { rankSnippets, type RankedSnippet } from './localize-snippets.js';
import { tokenize } from './tokenize.js';

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
    prior: number;
  };
}

const SOURCE = /\.(?:py|pyx|pyi|js|jsx|mjs|cjs|ts|tsx|go|java|kt|rs|c|h|cc|cpp|hpp|cs|rb|php|swift|scala)$/;
const CONFIG = /(?:^|\/)(?:setup\.cfg|setup\.py|pyproject\.toml|tox\.ini|package\.json|Cargo\.toml|go\.mod)$/;
const TESTS = /(?:^|\/)(?:tests?|testing|__tests__|spec)\/|(?:^|\/)(?:test_[^/]*|[^/]*_tests?\.\w+|[^/]*\.(?:test|spec)\.\w+|conftest\.py)$/;
const NOT_SHIPPED = /(?:^|\/)(?:docs?|doc_src|examples?|benchmarks?|asv_bench|scripts|tutorials?|tools|ci|\.github)\//;
// Third-party code carried along: never where the project's own bug is.
const VENDORED = /(?:^|\/)(?:vendor|vendored|_vendor|third_party|extern|externals?|node_modules|static)\/|\.min\.\w+$|(?:^|\/)(?:jquery|underscore|bootstrap)[^/]*\.js$/;
const MAX_BLOB_BYTES = 1024 * 1024;

/** How likely a file is to be where a fix goes, before reading the report. */
function prior(path: string, mainExtension: string): { weight: number; why?: string } {
  if (VENDORED.test(path)) return { weight: 0.05, why: 'vendored' };
  if (TESTS.test(path)) return { weight: 0.15, why: 'test file' };
  if (NOT_SHIPPED.test(path)) return { weight: 0.25, why: 'docs, examples or tooling' };
  if (CONFIG.test(path)) return { weight: 0.3, why: 'configuration' };
  if (!path.endsWith(mainExtension)) return { weight: 0.5, why: 'not the main language' };
  return { weight: 1 };
}

// Facts are a function of the blob alone, so they survive from one commit to the next.
const factsCache = new Map<string, FileFacts>();
const FACTS_CACHE_MAX = 200_000;

async function factsFor(gitDir: string, files: TreeFile[]): Promise<FileFacts[]> {
  const missing = files.filter((f) => !factsCache.has(f.sha)).map((f) => f.sha);
  if (missing.length) {
    const blobs = await readBlobs(gitDir, [...new Set(missing)]);
    if (factsCache.size + blobs.size > FACTS_CACHE_MAX) factsCache.clear();
    for (const [sha, content] of blobs) factsCache.set(sha, fileFacts(content.includes(0) ? '' : content.toString('utf8')));
  }
  return files.map((f) => factsCache.get(f.sha)!);
}

/** Number of trailing path segments two paths share (0 when the file names differ). */
function sharedTail(a: string[], b: string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

/** "pkg.sub" + "..mod" → "pkg.mod" (relative imports of an __init__). */
function resolveRelative(pkg: string, relative: string): string {
  const dots = relative.match(/^\.+/)![0].length;
  const base = pkg.split('.').slice(0, pkg.split('.').length - (dots - 1));
  const rest = relative.slice(dots);
  return rest ? [...base, rest].join('.') : base.join('.');
}

function normalized(scores: Float64Array | number[]): number[] {
  let max = 0;
  for (const s of scores) max = Math.max(max, s);
  return Array.from(scores, (s) => (max > 0 ? s / max : 0));
}

/**
 * Ranks the files of a commit for a bug report: where the report names them (paths, modules,
 * stack frames), where the identifiers it mentions are defined, and how well the text matches
 * (BM25 over code-aware tokens); tests, docs and examples are rarely where a fix goes.
 */
export async function localizeFiles(
  gitDir: string,
  commit: string,
  description: string,
  options: { limit?: number } = {},
): Promise<RankedFile[]> {
  return (await rankFiles(gitDir, commit, readReport(description))).files.slice(0, options.limit ?? 50);
}

export interface Localization {
  commit: string;
  files: RankedFile[];
  snippets: RankedSnippet[];
}

/** Files, then the functions, methods and classes of the best of them, for a bug report. */
export async function localize(
  gitDir: string,
  commit: string,
  description: string,
  options: { files?: number; snippets?: number } = {},
): Promise<Localization> {
  const report = readReport(description);
  const { files, tree } = await rankFiles(gitDir, commit, report);
  const shas = new Map(tree.map((f) => [f.path, f.sha]));
  const snippets = await rankSnippets(gitDir, (p) => shas.get(p), report, files, { limit: options.snippets ?? 20 });
  return { commit, files: files.slice(0, options.files ?? 20), snippets };
}

async function rankFiles(gitDir: string, commit: string, report: ReportSignals) {
  const tree = (await listTree(gitDir, commit)).filter((f) => (SOURCE.test(f.path) || CONFIG.test(f.path)) && f.size <= MAX_BLOB_BYTES);
  const facts = await factsFor(gitDir, tree);
  return { files: rank(tree, facts, report), tree };
}

function rank(tree: TreeFile[], facts: FileFacts[], report: ReportSignals): RankedFile[] {
  const n = tree.length;
  const segments = tree.map((f) => f.path.split('/'));
  const reasons: string[][] = tree.map(() => []);
  const pathScore = new Float64Array(n);
  const frameScore = new Float64Array(n);
  const moduleScore = new Float64Array(n);

  const byName = new Map<string, number[]>();
  segments.forEach((s, i) => {
    const name = s.at(-1)!;
    byName.set(name, [...(byName.get(name) ?? []), i]);
  });

  // Paths and stack frames: the longest shared tail wins; a bare file name counts if it is unique.
  const matchPath = (path: string): Array<{ file: number; strength: number }> => {
    const wanted = path.replace(/^\.?\//, '').split('/').filter(Boolean);
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
    const weight = 1 / (1 + 0.5 * depth);
    for (const { file, strength } of files) {
      const defines = facts[file]!.definitions.has(frame.func);
      frameScore[file] = Math.max(frameScore[file]!, weight * strength * (defines ? 1 : 0.7));
      reasons[file]!.push(`stack frame ${depth === 0 ? '(innermost of ours) ' : ''}in ${frame.func}`);
    }
  });

  // Dotted module names: the longest prefix that is a module of the repository.
  const moduleIndex = new Map<string, number>();
  tree.forEach((f, i) => {
    if (!f.path.endsWith('.py')) return;
    const dotted = f.path.replace(/\.py$/, '').replace(/\/__init__$/, '').replaceAll('/', '.');
    const parts = dotted.split('.');
    // Also index without leading source folders ("src.pkg.mod" → "pkg.mod", "lib.pkg" → "pkg").
    for (let k = 0; k < Math.min(parts.length - 1, 2) + 1; k++) moduleIndex.set(parts.slice(k).join('.'), i);
  });
  // A package's __init__ re-exports names from its modules: "xarray.where" lives in
  // xarray/core/computation.py when xarray/__init__.py says `from .core.computation import where`.
  const reexports = new Map<string, number>();
  tree.forEach((f, i) => {
    if (!f.path.endsWith('__init__.py')) return;
    const pkg = f.path.replace(/\/__init__\.py$/, '').replaceAll('/', '.');
    for (const [name, from] of facts[i]!.reexports) {
      const target = from.startsWith('.') ? resolveRelative(pkg, from) : from;
      const file = moduleIndex.get(target);
      if (file !== undefined) reexports.set(`${pkg.split('.').slice(-1)[0]}.${name}`, file).set(`${pkg}.${name}`, file);
    }
  });
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

  // Definitions of the identifiers the report mentions, rarer names counting more.
  const definedIn = new Map<string, number[]>();
  facts.forEach((f, i) => {
    for (const name of f.definitions) definedIn.set(name, [...(definedIn.get(name) ?? []), i]);
  });
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

  // File and folder names the report uses as words ("linkcheck", "napoleon", "typehints").
  const words = new Set(tokenize(report.text));
  const nameTerms = tree.map((f) => {
    const parts = f.path.replace(/\.\w+$/, '').split('/');
    const stem = parts.at(-1) === '__init__' ? parts.at(-2) : parts.at(-1);
    return { stem: (stem ?? '').toLowerCase(), dirs: parts.slice(0, -1).map((d) => d.toLowerCase()) };
  });
  const stemCount = new Map<string, number>();
  for (const { stem } of nameTerms) stemCount.set(stem, (stemCount.get(stem) ?? 0) + 1);
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

  // Lexical match of the whole report.
  const bm25 = new Bm25();
  facts.forEach((f) => bm25.add(f.terms, f.length));
  const query = termCounts(tokenize(report.text));
  for (const [t, c] of query) query.set(t, Math.min(3, c));
  // The title names the broken thing: its words count double.
  for (const t of new Set(tokenize(report.title))) query.set(t, (query.get(t) ?? 0) + 2);
  const fileLexical = normalized(bm25.score(query));
  // The same query over functions and classes: a focused match in one method of a long file
  // is not drowned by the rest of the file.
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
  const lexical = fileLexical.map((v, i) => Math.max(v, chunkLexical[i]!));
  const defs = normalized(defScore);
  const names = normalized(nameScore);
  const extensionCount = new Map<string, number>();
  for (const f of tree) {
    const ext = f.path.slice(f.path.lastIndexOf('.'));
    extensionCount.set(ext, (extensionCount.get(ext) ?? 0) + 1);
  }
  const mainExtension = [...extensionCount].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '.py';

  const ranked = tree.map((f, i) => {
    const p = prior(f.path, mainExtension);
    // Weights fitted by coordinate search on SWE-bench-style reports (bench/localize.ts, the dev
    // file); every signal is generic, and no rule names a project, a file or an instance.
    // The strongest direct mention counts (a path, a frame of our code, a module), then the rest adds up.
    const direct = Math.max(0.6 * pathScore[i]!, 0.8 * frameScore[i]!, 0.2 * moduleScore[i]!);
    const score =
      (direct + 0.2 * qualifiedScore[i]! + 0.1 * defs[i]! + 0.3 * fileLexical[i]! + 0.2 * chunkLexical[i]! + 0.15 * names[i]!) *
      p.weight;
    const why = [...new Set(reasons[i])];
    if (lexical[i]! > 0.5) why.push(`text match ${lexical[i]!.toFixed(2)}`);
    const chunk = bestChunkAt[i]!;
    if (chunkLexical[i]! > 0.5 && chunk >= 0) why.push(`matching code: ${chunkName[chunk]}`);
    if (p.why) why.push(p.why);
    return {
      path: f.path,
      score,
      reasons: why,
      signals: {
        paths: pathScore[i]!,
        frames: frameScore[i]!,
        modules: moduleScore[i]!,
        qualified: qualifiedScore[i]!,
        definitions: defs[i]!,
        text: fileLexical[i]!,
        functions: chunkLexical[i]!,
        names: names[i]!,
        prior: p.weight,
      },
    };
  });
  return ranked.sort((a, b) => b.score - a.score);
}
