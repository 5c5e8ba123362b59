import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The parts of web-tree-sitter Kodah uses (the runtime ships inside @vscode/tree-sitter-wasm). */
export interface TsPoint {
  row: number;
  column: number;
}
export interface TsNode {
  type: string;
  text: string;
  startIndex: number;
  startPosition: TsPoint;
  endPosition: TsPoint;
  parent: TsNode | null;
  namedChildren: TsNode[];
  children: TsNode[];
  hasError: boolean;
  isMissing: boolean;
  childForFieldName(name: string): TsNode | null;
}
/** A cursor walks the tree without materialising a node object per child: far cheaper. */
export interface TsCursor {
  nodeType: string;
  startIndex: number;
  endIndex: number;
  startPosition: TsPoint;
  endPosition: TsPoint;
  currentNode: TsNode;
  gotoFirstChild(): boolean;
  gotoNextSibling(): boolean;
  gotoParent(): boolean;
  delete(): void;
}
interface TsTree {
  rootNode: TsNode;
  walk(): TsCursor;
  delete(): void;
}
interface TsParser {
  setLanguage(language: unknown): TsParser;
  /** Null when the progress callback returned true: the parse was given up. */
  parse(text: string, oldTree: null, options: { progressCallback: () => boolean }): TsTree | null;
  /** After a parse was given up: the next one starts afresh instead of resuming it. */
  reset(): void;
}
interface TreeSitterModule {
  Parser: { new (): TsParser; init(options: { locateFile: (file: string) => string }): Promise<void> };
  Language: { load(input: Uint8Array): Promise<unknown> };
}

/** The grammars shipped as WASM (no native build), by the languages Kodah names. */
const GRAMMARS = {
  python: 'tree-sitter-python.wasm',
  javascript: 'tree-sitter-javascript.wasm',
  typescript: 'tree-sitter-typescript.wasm',
  tsx: 'tree-sitter-tsx.wasm',
  go: 'tree-sitter-go.wasm',
  java: 'tree-sitter-java.wasm',
  rust: 'tree-sitter-rust.wasm',
  // C is parsed by the C++ grammar: a superset for everything a snippet needs.
  c: 'tree-sitter-cpp.wasm',
  cpp: 'tree-sitter-cpp.wasm',
  ruby: 'tree-sitter-ruby.wasm',
  php: 'tree-sitter-php.wasm',
  csharp: 'tree-sitter-c-sharp.wasm',
} as const;
export type LanguageName = keyof typeof GRAMMARS;

const EXTENSIONS: Record<string, LanguageName> = {
  py: 'python',
  pyi: 'python',
  js: 'javascript',
  jsx: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  ts: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  tsx: 'tsx',
  go: 'go',
  java: 'java',
  rs: 'rust',
  c: 'c',
  h: 'c',
  cc: 'cpp',
  cpp: 'cpp',
  cxx: 'cpp',
  hpp: 'cpp',
  hh: 'cpp',
  rb: 'ruby',
  php: 'php',
  cs: 'csharp',
};

/** The language of a file by its extension, or null when no grammar covers it. */
export function languageOf(filePath: string): LanguageName | null {
  return EXTENSIONS[path.extname(filePath).slice(1).toLowerCase()] ?? null;
}

let runtime: Promise<{ module: TreeSitterModule; dir: string }> | undefined;

function loadRuntime() {
  runtime ??= (async () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@vscode/tree-sitter-wasm');
    const module = require('@vscode/tree-sitter-wasm') as TreeSitterModule;
    const dir = path.dirname(entry);
    await module.Parser.init({ locateFile: (file) => path.join(dir, file) });
    return { module, dir };
  })();
  return runtime;
}

const parsers = new Map<string, Promise<TsParser>>();

/**
 * The parser of a language, made once per thread with its grammar and used for every parse: a
 * parse runs to its end synchronously, so none is ever shared by two at a time. A parser lives in
 * WASM memory that only delete() gives back; one made per parse held about 15 KB for ever.
 */
function parserFor(language: LanguageName): Promise<TsParser> {
  const file = GRAMMARS[language];
  let parser = parsers.get(file);
  if (!parser) {
    parser = loadRuntime().then(async ({ module, dir }) =>
      new module.Parser().setLanguage(await module.Language.load(await readFile(path.join(dir, file)))),
    );
    // A grammar that failed to load is tried again by the next parse.
    parser.catch(() => parsers.delete(file));
    parsers.set(file, parser);
  }
  return parser;
}

/**
 * What a parse may take: tree-sitter reads clean code at 1.5–6 MB/s, but its error recovery is
 * quadratic on some broken text (`def f(` on 142,000 lines: 380 s for one megabyte), and files
 * come from repositories and models. The parse runs on the worker's thread, so it is given up.
 */
const PARSE_BASE_MS = 200;
const PARSE_MS_PER_KB = 3;

/** A parse given up at its time limit. */
export class ParseGivenUp extends Error {}

/** Parses, hands the tree to `use`, and frees the tree's WASM memory whatever happens. */
export async function withTree<T>(language: LanguageName, text: string, use: (root: TsNode, tree: TsTree) => T): Promise<T> {
  const parser = await parserFor(language);
  const limitMs = PARSE_BASE_MS + (PARSE_MS_PER_KB * text.length) / 1024;
  const deadline = performance.now() + limitMs;
  const tree = parser.parse(text, null, { progressCallback: () => performance.now() > deadline });
  if (!tree) {
    parser.reset();
    throw new ParseGivenUp(`tree-sitter gave up on ${Math.round(text.length / 1024)} KB of ${language} after ${Math.round(limitMs)} ms`);
  }
  try {
    return use(tree.rootNode, tree);
  } finally {
    tree.delete();
  }
}
