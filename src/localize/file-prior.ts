import type { TreeFile } from '../git/git-objects.js';

const CONFIG = /(?:^|\/)(?:setup\.cfg|setup\.py|pyproject\.toml|tox\.ini|package\.json|Cargo\.toml|go\.mod)$/;
const SOURCE = /\.(?:py|pyx|pyi|js|jsx|mjs|cjs|ts|tsx|go|java|kt|rs|c|h|cc|cpp|hpp|cs|rb|php|swift|scala)$/;
const TESTS =
  /(?:^|\/)(?:tests?|testing|__tests__|spec)\/|(?:^|\/)(?:test_[^/]*|[^/]*_tests?\.\w+|[^/]*\.(?:test|spec)\.\w+|conftest\.py)$/;
const NOT_SHIPPED = /(?:^|\/)(?:docs?|doc_src|examples?|benchmarks?|asv_bench|scripts|tutorials?|tools|ci|\.github)\//;
// Third-party code carried along: never where the project's own bug is.
const VENDORED =
  /(?:^|\/)(?:vendor|vendored|_vendor|third_party|extern|externals?|node_modules|static)\/|\.min\.\w+$|(?:^|\/)(?:jquery|underscore|bootstrap)[^/]*\.js$/;

/** Whether a file can hold a fix at all: source code, or a project configuration file. */
export function isCandidate(path: string): boolean {
  return SOURCE.test(path) || CONFIG.test(path);
}

/** The extension most of the repository's candidate files have: its main language. */
export function mainExtension(tree: TreeFile[]): string {
  const count = new Map<string, number>();
  for (const f of tree) {
    const ext = f.path.slice(f.path.lastIndexOf('.'));
    count.set(ext, (count.get(ext) ?? 0) + 1);
  }
  return [...count].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '.py';
}

/** How likely a file is to be where a fix goes, before reading the report. */
export function filePrior(path: string, main: string): { weight: number; why?: string } {
  if (VENDORED.test(path)) return { weight: 0.05, why: 'vendored' };
  if (TESTS.test(path)) return { weight: 0.15, why: 'test file' };
  if (NOT_SHIPPED.test(path)) return { weight: 0.25, why: 'docs, examples or tooling' };
  if (CONFIG.test(path)) return { weight: 0.3, why: 'configuration' };
  if (!path.endsWith(main)) return { weight: 0.5, why: 'not the main language' };
  return { weight: 1 };
}
