import { createHash } from 'node:crypto';
import { Bm25 } from '../code/bm25.js';
import type { TreeFile } from '../git/git-objects.js';
import type { FileFacts } from './file-facts.js';

/**
 * What the file signals look up in a tree, whatever the report: a function of the tree's paths
 * and blobs alone, so built once per tree and shared by every search of it.
 */
export interface TreeIndexes {
  /** BM25 over whole files, and over their functions and classes (chunk → file, name). */
  bm25: Bm25;
  chunkIndex: Bm25;
  chunkFile: number[];
  chunkName: string[];
  /** The files defining each name. */
  definedIn: Map<string, number[]>;
  /** Each path's segments, and the files of each file name. */
  segments: string[][];
  byName: Map<string, number[]>;
  /** Dotted module name (also without one or two leading source folders) → its file. */
  moduleIndex: Map<string, number>;
  /** Each file's name without its extension (its folder's for an __init__), lower case, its folders, and how many files share each name. */
  names: Array<{ stem: string; dirs: string[] }>;
  stemCount: Map<string, number>;
  /** "pkg.name" and "name"-qualified re-exports of each package's __init__ → the defining module's file. */
  reexports: Map<string, number>;
}

/**
 * The indexes of the last two trees (a worker runs two jobs at once). An agent searches one
 * commit many times (search_code), and building them is most of a search (190 ms over sympy's
 * 24k functions; the name and module tables another 40 ms).
 */
const recent = new Map<string, TreeIndexes>();
const RECENT_TREES = 2;
/** The arrays of the last call: the signals of one ranking ask three times in a row. */
let last: { tree: readonly TreeFile[]; facts: readonly FileFacts[]; indexes: TreeIndexes } | null = null;

export function treeIndexes(tree: readonly TreeFile[], facts: readonly FileFacts[]): TreeIndexes {
  if (last && last.tree === tree && last.facts === facts) return last.indexes;
  const hash = createHash('sha1');
  for (const f of tree) hash.update(f.path).update('\0').update(f.sha).update('\n');
  const key = hash.digest('hex');
  let indexes = recent.get(key);
  if (indexes) {
    // Most recently used last.
    recent.delete(key);
  } else {
    indexes = build(tree, facts);
    if (recent.size >= RECENT_TREES) recent.delete(recent.keys().next().value!);
  }
  recent.set(key, indexes);
  last = { tree, facts, indexes };
  return indexes;
}

/** Appends to a list in a map of lists. */
function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** "pkg.sub" + "..mod" → "pkg.mod" (relative imports of an __init__). */
function resolveRelative(pkg: string, relative: string): string {
  const dots = relative.match(/^\.+/)![0].length;
  const base = pkg.split('.').slice(0, pkg.split('.').length - (dots - 1));
  const rest = relative.slice(dots);
  return rest ? [...base, rest].join('.') : base.join('.');
}

function build(tree: readonly TreeFile[], facts: readonly FileFacts[]): TreeIndexes {
  const bm25 = new Bm25();
  facts.forEach((f) => bm25.add(f.terms, f.length));
  const chunkIndex = new Bm25();
  const chunkFile: number[] = [];
  const chunkName: string[] = [];
  const definedIn = new Map<string, number[]>();
  facts.forEach((f, i) => {
    for (const c of f.chunks) {
      chunkIndex.add(c.terms, c.length);
      chunkFile.push(i);
      chunkName.push(`${c.name} (line ${c.startLine})`);
    }
    for (const name of f.definitions) push(definedIn, name, i);
  });

  const segments = tree.map((f) => f.path.split('/'));
  const byName = new Map<string, number[]>();
  segments.forEach((s, i) => push(byName, s.at(-1)!, i));

  const moduleIndex = new Map<string, number>();
  tree.forEach((f, i) => {
    if (!f.path.endsWith('.py')) return;
    const dotted = f.path
      .replace(/\.py$/, '')
      .replace(/\/__init__$/, '')
      .replaceAll('/', '.');
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
  const names = tree.map((f) => {
    const parts = f.path.replace(/\.\w+$/, '').split('/');
    const stem = parts.at(-1) === '__init__' ? parts.at(-2) : parts.at(-1);
    return { stem: (stem ?? '').toLowerCase(), dirs: parts.slice(0, -1).map((d) => d.toLowerCase()) };
  });
  const stemCount = new Map<string, number>();
  for (const { stem } of names) stemCount.set(stem, (stemCount.get(stem) ?? 0) + 1);
  return { bm25, chunkIndex, chunkFile, chunkName, definedIn, segments, byName, moduleIndex, reexports, names, stemCount };
}
