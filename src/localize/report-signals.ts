import { termCounts } from '../code/bm25.js';
import { tokenize } from '../code/tokenize.js';
import { matchesInRuns } from '../lib/matches-in-runs.js';

/**
 * What a bug report says about where the bug is, read the way a maintainer reads it: file paths,
 * dotted module names, stack-trace frames, and identifiers (those in backticks and code blocks
 * count most, then CamelCase / snake_case / dotted words in the prose).
 */
export interface StackFrame {
  path: string;
  line: number;
  func: string;
  /** 0 for the innermost frame (where the error was raised), counting outwards. */
  depth: number;
}

export interface ReportSignals {
  /** The report with template comments and environment dumps taken out: what the words come from. */
  text: string;
  /** The first line: reporters name the broken thing there. */
  title: string;
  paths: string[];
  /** Dotted names, with import aliases expanded ("xr.where" → "xarray.where"), and how strongly meant. */
  modules: Map<string, number>;
  /** "Class.member" pairs the report mentions: a file defining both is where that member lives. */
  qualified: Array<{ owner: string; member: string }>;
  /** `from module import name` pairs of the report's code: the names a module should define. */
  imports: Array<{ module: string; name: string }>;
  frames: StackFrame[];
  /** Identifier → weight: 1 in inline code, 0.5 in code blocks and tracebacks, 0.6 for code-like prose. */
  identifiers: Map<string, number>;
  /**
   * The report as a BM25 query, as every lexical signal asks it (files, functions, past commit
   * messages): a word the report repeats (a name in every line of a traceback) counts at most three
   * times, and the title, which names the broken thing, adds two for each of its words.
   */
  query: Map<string, number>;
}

const SOURCE_EXT = 'py|pyx|pyi|js|jsx|mjs|cjs|ts|tsx|go|java|kt|rs|c|h|cc|cpp|hpp|cs|rb|php|swift|scala|cfg|toml|ini|yaml|yml';
const PATH = new RegExp(String.raw`(?:[\w.-]+[\\/])*[\w.-]+\.(?:${SOURCE_EXT})\b`, 'g');
/** The runs of characters a path is made of, read one by one (over the whole text, "a.a.a.…": 9 s). */
const PATH_RUN = /[\w.\\/-]+/g;
const LONGEST_PATH = 400;
const PY_FRAME = /File "([^"]+)", line (\d+), in ([\w<>]+)/g;
const DOTTED = /\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b/g;
const CODE_BLOCK = /```[\s\S]*?```/g;
const INLINE_CODE = /`[^`\n]+`/g;
// Names every report's code uses: they say nothing about where a bug is.
const COMMON = new Set(
  (
    'None True False self cls str int float bool bytes dict list tuple set object type print len range open super ' +
    'isinstance getattr setattr hasattr Exception ValueError TypeError KeyError IndexError AttributeError RuntimeError ' +
    'Any Optional Union List Dict Tuple Set Callable Iterable foo bar baz main test example import from return ' +
    'def class lambda pass else elif while with yield assert raise except finally Traceback File line module __init__ ' +
    '__name__ __main__ numpy pandas np pd plt matplotlib'
  ).split(' '),
);
const CODE_LIKE = /\b(?:[a-z]+[A-Z]\w*|[A-Z][a-z0-9]+[A-Z]\w*|\w+_\w+|[A-Z]{2,}[a-z]\w*)\b/g;
const IDENT = /[A-Za-z_]\w{2,63}/g;
/** The weight of a plain word of the title as an identifier. */
const TITLE_WORD = 0.3;
// A word written as a call in the prose ("Rational('0.5', '100') gives …"): code, even without backticks.
const PROSE_CALL = /\b([A-Za-z_]\w{2,63})\((?=[^)\n]{0,80}\))/g;

// Issue templates' hidden comments, and "name: version" dumps of the reporter's environment.
const HTML_COMMENT = /<!--[\s\S]*?-->/g;
// One way to match each part: `\s*[-*]?\s*` tried every split of a long run of blanks (3.5 s for 60,000).
const ENV_LINE = /^\s*(?:[-*]\s*)?[\w.+-]+\s*[:=]\s*\S*\s*$/;
/** A line longer than this is no "name: version" line. */
const LONGEST_ENV_LINE = 300;
// Blanks, not \s, before the statement: from every line start \s* ran over all the empty lines below.
const IMPORT_AS = /^[ \t]*import\s+([\w.]+)\s+as\s+(\w+)/gm;
const FROM_IMPORT = /^[ \t]*(?:>>>[ \t]*)?from\s+([\w.]+)\s+import\s+\(?([\w\s,]+)\)?/gm;

/** The report without hidden template text and without runs of four or more environment lines. */
export function cleanReport(raw: string): string {
  const lines = raw.replace(HTML_COMMENT, ' ').split('\n');
  const keep = lines.map(() => true);
  for (let i = 0; i < lines.length;) {
    let j = i;
    while (j < lines.length && lines[j]!.length <= LONGEST_ENV_LINE && ENV_LINE.test(lines[j]!)) j++;
    if (j - i >= 4) for (let k = i; k < j; k++) keep[k] = false;
    i = Math.max(j, i + 1);
  }
  return lines.filter((_, i) => keep[i]).join('\n');
}

export function readReport(raw: string): ReportSignals {
  const text = cleanReport(raw);
  const title = text.split('\n', 1)[0] ?? '';
  const frames: StackFrame[] = [];
  for (const m of text.matchAll(PY_FRAME)) frames.push({ path: m[1]!, line: Number(m[2]), func: m[3]!, depth: 0 });
  // Python prints the innermost frame last.
  frames.forEach((f, i) => (f.depth = frames.length - 1 - i));

  const paths = new Set<string>();
  for (const m of matchesInRuns(text, PATH_RUN, PATH, LONGEST_PATH)) paths.add(m[0].replaceAll('\\', '/'));
  for (const f of frames) paths.add(f.path.replaceAll('\\', '/'));

  const aliases = new Map<string, string>();
  for (const m of text.matchAll(IMPORT_AS)) aliases.set(m[2]!, m[1]!);
  const imports: Array<{ module: string; name: string }> = [];
  for (const m of text.matchAll(FROM_IMPORT)) {
    for (const name of m[2]!.split(/[\s,]+/).filter(Boolean)) imports.push({ module: m[1]!, name });
  }
  const codeText = [...text.matchAll(CODE_BLOCK)].map((m) => m[0]).join('\n');
  const modules = new Map<string, number>();
  const noteModule = (dotted: string, weight: number) => {
    // No module's name is this long; a report made of one would cost its length at every mention.
    if (dotted.length > LONGEST_PATH || /\.(?:py|com|org|io|html|txt|rst|md)$/i.test(dotted)) return;
    const [head, ...rest] = dotted.split('.');
    const expanded = aliases.has(head!) ? [aliases.get(head!)!, ...rest].join('.') : dotted;
    modules.set(expanded, Math.max(modules.get(expanded) ?? 0, weight));
  };
  // Named in the prose, a module is meant; imported in an example, it is merely used.
  for (const m of text.replace(CODE_BLOCK, ' ').matchAll(DOTTED)) noteModule(m[0], 1);
  for (const m of codeText.matchAll(DOTTED)) noteModule(m[0], 0.5);
  for (const module of new Set(imports.map((i) => i.module))) noteModule(module, 0.5);

  const identifiers = new Map<string, number>();
  const note = (id: string, weight: number) => {
    if (!COMMON.has(id)) identifiers.set(id, Math.max(identifiers.get(id) ?? 0, weight));
  };
  let prose = text;
  for (const m of text.matchAll(CODE_BLOCK)) {
    for (const id of m[0].matchAll(IDENT)) note(id[0], 0.5);
    prose = prose.replace(m[0], ' ');
  }
  for (const m of prose.matchAll(INLINE_CODE)) {
    for (const id of m[0].matchAll(IDENT)) note(id[0], 1);
    prose = prose.replace(m[0], ' ');
  }
  for (const m of prose.matchAll(CODE_LIKE)) note(m[0], 0.6);
  for (const m of prose.matchAll(PROSE_CALL)) note(m[1]!, 0.6);
  for (const m of prose.matchAll(DOTTED)) for (const part of m[0].split('.')) if (part.length >= 3) note(part, 0.6);
  for (const f of frames) note(f.func, 1);
  for (const id of title.matchAll(IDENT)) if (/[A-Z_]|[a-z][A-Z]/.test(id[0].slice(1)) || identifiers.has(id[0])) note(id[0], 1);
  // Any other word of the title may name the broken thing too ("Posify ignores …"), weakly: as
  // written and, for a capitalised first word, in lower case.
  for (const id of title.matchAll(IDENT)) {
    if (identifiers.has(id[0]) || id[0].length < 4) continue;
    note(id[0], TITLE_WORD);
    if (id.index === title.search(/\w/) && /^[A-Z][a-z]+$/.test(id[0])) note(id[0].toLowerCase(), TITLE_WORD);
  }
  const qualified = new Map<string, { owner: string; member: string }>();
  for (const m of text.matchAll(/\b([A-Z]\w+)\.([A-Za-z_]\w+)\b/g)) {
    if (!COMMON.has(m[1]!)) qualified.set(`${m[1]}.${m[2]}`, { owner: m[1]!, member: m[2]! });
  }
  const query = termCounts(tokenize(text));
  for (const [t, c] of query) query.set(t, Math.min(3, c));
  for (const t of new Set(tokenize(title))) query.set(t, (query.get(t) ?? 0) + 2);
  return { text, title, paths: [...paths], modules, imports, qualified: [...qualified.values()], frames, identifiers, query };
}
