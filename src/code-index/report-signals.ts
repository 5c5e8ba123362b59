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
  paths: string[];
  modules: string[];
  frames: StackFrame[];
  /** Identifier → weight: 1 in inline code, 0.5 in code blocks and tracebacks, 0.6 for code-like prose. */
  identifiers: Map<string, number>;
}

const SOURCE_EXT = 'py|pyx|pyi|js|jsx|mjs|cjs|ts|tsx|go|java|kt|rs|c|h|cc|cpp|hpp|cs|rb|php|swift|scala|cfg|toml|ini|yaml|yml';
const PATH = new RegExp(String.raw`(?:[\w.-]+[\\/])*[\w.-]+\.(?:${SOURCE_EXT})\b`, 'g');
const PY_FRAME = /File "([^"]+)", line (\d+), in ([\w<>]+)/g;
const DOTTED = /\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b/g;
const CODE_BLOCK = /```[\s\S]*?```/g;
const INLINE_CODE = /`[^`\n]+`/g;
// Names every report's code uses: they say nothing about where a bug is.
const COMMON = new Set(
  ('None True False self cls str int float bool bytes dict list tuple set object type print len range open super ' +
    'isinstance getattr setattr hasattr Exception ValueError TypeError KeyError IndexError AttributeError RuntimeError ' +
    'Any Optional Union List Dict Tuple Set Callable Iterable foo bar baz main test example import from return ' +
    'def class lambda pass else elif while with yield assert raise except finally Traceback File line module __init__ ' +
    '__name__ __main__ numpy pandas np pd plt matplotlib').split(' '),
);
const CODE_LIKE = /\b(?:[a-z]+[A-Z]\w*|[A-Z][a-z0-9]+[A-Z]\w*|\w+_\w+|[A-Z]{2,}[a-z]\w*)\b/g;
const IDENT = /[A-Za-z_]\w{2,63}/g;

export function readReport(text: string): ReportSignals {
  const frames: StackFrame[] = [];
  for (const m of text.matchAll(PY_FRAME)) frames.push({ path: m[1]!, line: Number(m[2]), func: m[3]!, depth: 0 });
  // Python prints the innermost frame last.
  frames.forEach((f, i) => (f.depth = frames.length - 1 - i));

  const paths = new Set<string>();
  for (const m of text.matchAll(PATH)) paths.add(m[0].replaceAll('\\', '/'));
  for (const f of frames) paths.add(f.path.replaceAll('\\', '/'));

  const modules = new Set<string>();
  for (const m of text.matchAll(DOTTED)) {
    const dotted = m[0];
    if (!/\.(?:py|com|org|io|html|txt|rst|md)$/i.test(dotted)) modules.add(dotted);
  }

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
  for (const m of prose.matchAll(DOTTED)) for (const part of m[0].split('.')) if (part.length >= 3) note(part, 0.6);
  for (const f of frames) note(f.func, 1);
  return { paths: [...paths], modules: [...modules], frames, identifiers };
}
