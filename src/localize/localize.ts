import type { ExecutedFunctions, RaisedFrame } from './execution-signals.js';
import type { FactsCache } from './facts-cache.js';
import { rankFiles, type RankedFile } from './rank-files.js';
import { rankSnippets, type RankedSnippet } from './rank-snippets.js';
import { pastFunctions } from './past-functions.js';
import { readReport } from './report-signals.js';

export type { RankedFile } from './rank-files.js';
export type { RankedSnippet } from './rank-snippets.js';

/**
 * Ranks the files of a commit for a bug report: where the report names them (paths, modules,
 * stack frames), where the identifiers it mentions are defined, and how well the text matches
 * (BM25 over code-aware tokens); tests, docs and examples are rarely where a fix goes.
 */
export async function localizeFiles(
  gitDir: string,
  commit: string,
  description: string,
  options: { cache: FactsCache; limit?: number },
): Promise<RankedFile[]> {
  return (await rankFiles(gitDir, commit, readReport(description), options.cache)).files.slice(0, options.limit ?? 50);
}

export interface Localization {
  commit: string;
  files: RankedFile[];
  snippets: RankedSnippet[];
}

/**
 * Files, then the functions, methods and classes of the best of them, for a bug report. Unless
 * `pastFunctions` is false, the functions past commits like the report changed count too (it
 * reads those commits' diffs: about 100 ms on a large project). `within` keeps only the files it
 * accepts, before their functions are ranked: a search in one folder finds what is there even
 * when better matches lie elsewhere. `executed`: what the report's examples ran, when they ran;
 * `raised`: where the errors they stopped on were raised.
 */
export async function localize(
  gitDir: string,
  commit: string,
  description: string,
  options: {
    cache: FactsCache;
    files?: number;
    snippets?: number;
    pastFunctions?: boolean;
    within?: (path: string) => boolean;
    executed?: ExecutedFunctions;
    raised?: readonly RaisedFrame[];
  },
): Promise<Localization> {
  const report = readReport(description);
  const { executed, raised } = options;
  const { files: all, tree, similar } = await rankFiles(gitDir, commit, report, options.cache, { executed, raised });
  const within = options.within;
  const files = within ? all.filter((f) => within(f.path)) : all;
  const shas = new Map(tree.map((f) => [f.path, f.sha]));
  // They only refine the order of functions: history git cannot diff (a mirror missing the blobs
  // of old commits) leaves the ranking as it would be without them, rather than stopping the job.
  const past = options.pastFunctions === false ? undefined : await pastFunctions(gitDir, similar).catch(() => undefined);
  const snippets = await rankSnippets(gitDir, (p) => shas.get(p), report, files, {
    limit: options.snippets ?? 20,
    past,
    executed,
  });
  return { commit, files: files.slice(0, options.files ?? 20), snippets };
}
