/**
 * A scripted agent for the benchmarks: about thirty realistic tool calls built from what a job's
 * first prompt showed (the report's words, the files and line ranges of the code), answered at
 * once by the fake model, then submit. Commands print the shell's clock around themselves, so
 * the benchmark can tell a command's own time from the sandbox's round trip.
 */
import path from 'node:path';
import type { FakeChatRequest, FakeToolCalls } from '../test/helpers/fake-openai.js';

/** A file of the first prompt and the lines of it that were shown. */
export interface ShownFile {
  path: string;
  ranges: Array<[number, number]>;
  lines: number;
}

export interface FirstPrompt {
  report: string;
  files: ShownFile[];
}

type Call = { name: string; arguments: Record<string, unknown> };
/** The next call, given the tool answers so far (in order). */
type Move = (answers: readonly string[]) => Call;

/** Commands that do nothing: their time in the sandbox is all round trip. */
export const TRIVIAL = ['true', ':', '/bin/true'];
const OWN = /@own (\d+[.,]\d+) (\d+[.,]\d+)/;

/** `command`, with the shell's clock printed before and after it, inside the sandbox. */
export const timed = (command: string) => `t0=$EPOCHREALTIME\n${command}\ns=$?\necho "@own $t0 $EPOCHREALTIME"\nexit $s`;

/** A timed command's own seconds, read from its tool answer; null when the marker is missing. */
export function ownSeconds(answer: string): number | null {
  const m = OWN.exec(answer);
  return m ? Number(m[2]!.replace(',', '.')) - Number(m[1]!.replace(',', '.')) : null;
}

/** The sandbox's seconds for a command, from the first line of its tool answer ("exit code 0, 0.012 s"). */
export function sandboxSeconds(answer: string): number | null {
  const m = /^(?:exit code -?\d+|stopped [^,]*), ([\d.]+) s$/m.exec(answer);
  return m ? Number(m[1]) : null;
}

/** The report and the shown files of a job's first prompt (see src/fix/agent-prompts.ts and build-context.ts). */
export function readFirstPrompt(prompt: string): FirstPrompt {
  const report = /# Bug report\n\n([\s\S]*?)\n\n# (?:Tests|Code from the repository)/.exec(prompt)?.[1] ?? prompt.slice(0, 2000);
  const files: ShownFile[] = [];
  for (const m of prompt.matchAll(/^### (\S+) \((?:all (\d+) lines|lines ([\d, -]+) of (\d+))\)/gm)) {
    const lines = Number(m[2] ?? m[4]);
    const ranges: Array<[number, number]> = m[3]
      ? m[3].split(', ').map((r) => r.split('-').map(Number) as [number, number])
      : [[1, Math.min(lines, 300)]];
    files.push({ path: m[1]!, ranges, lines });
  }
  return { report, files };
}

const STOP = new Set(
  'this that with from when what which there their have been does should would could will into than then them they also only just like some such using used here file line error python sympy issue expected result returns return value'.split(
    ' ',
  ),
);

/** Words of the report a model would search for: identifiers first, then the other long words. */
export function reportWords(report: string): string[] {
  const words = [...new Set(report.match(/[A-Za-z_][\w.]*[A-Za-z0-9_]/g) ?? [])].filter((w) => w.length >= 4 && !STOP.has(w.toLowerCase()));
  const codeLike = (w: string) => /[_.]|[a-z][A-Z]/.test(w) || new RegExp(`\\b${w.replace(/\./g, '\\.')}\\(`).test(report);
  return [...words.filter(codeLike), ...words.filter((w) => !codeLike(w))];
}

/** About thirty calls: search, read, list, run (trivial and quick commands), an edit, a read again, then submit. */
export function agentScript(prompt: FirstPrompt): Move[] {
  if (!prompt.files.length) throw new Error('the first prompt shows no files: nothing to script');
  const words = reportWords(prompt.report);
  const queries = Array.from({ length: 5 }, (_, i) => words.slice(i * 3, i * 3 + 3).join(' ') || words.slice(0, 3).join(' ') || 'bug');
  const identifier = words.find((w) => /^[A-Za-z_]\w*$/.test(w)) ?? 'def';
  const file = (i: number) => prompt.files[i % prompt.files.length]!;
  const main = file(0);
  const dir = (f: ShownFile) => path.posix.dirname(f.path);
  const top = main.path.split('/')[0]!;
  const issued = new Set<string>();
  /** A call, nudged (a longer read) when it repeats an earlier one: the loop refuses exact repeats. */
  const once = (name: string, args: Record<string, unknown>): Call => {
    while (issued.has(JSON.stringify([name, args])) && name === 'read_file') {
      args = { ...args, end_line: Number(args.end_line ?? 300) + 7 };
    }
    issued.add(JSON.stringify([name, args]));
    return { name, arguments: args };
  };
  const fixed =
    (name: string, args: Record<string, unknown>): Move =>
    () =>
      once(name, args);
  const read = (f: ShownFile, k = 0, widen = 0): Move => {
    const [a, b] = f.ranges[k % f.ranges.length]!;
    return fixed('read_file', { path: f.path, start_line: Math.max(1, a - widen), end_line: Math.min(f.lines, b + widen) });
  };
  const run = (command: string) => fixed('run', { command: timed(command) });
  const search = (query: string, glob?: string) => fixed('search_code', { query, ...(glob && { path_glob: glob }) });
  const list = (args: Record<string, unknown>) => fixed('list_files', args);

  /** The first test file a list_files answer named, else another shown file. */
  const readTest: Move = (answers) => {
    const test = answers.flatMap((a) => a.split('\n')).find((l) => /(^|\/)test_\w+\.py$/.test(l));
    return test ? once('read_file', { path: test, start_line: 1, end_line: 80 }) : read(file(3))(answers);
  };
  /** A comment appended to a line of the main file it read: a def (or an assignment) and the line after it. */
  const edit: Move = (answers) => {
    const last = [...answers].reverse().find((a) => a.startsWith(`${main.path} (`)) ?? '';
    const lines = [...last.matchAll(/^(\d+)\t(.*)$/gm)].map((m) => ({ n: Number(m[1]), text: m[2]! }));
    const usable = (i: number) => lines[i + 1]?.n === lines[i]!.n + 1 && !/\[… line cut\]|\\$/.test(lines[i]!.text);
    const def = lines.findIndex((l, i) => /^\s*(def|class) \w+.*:\s*$/.test(l.text) && usable(i));
    const at = def >= 0 ? def : lines.findIndex((l, i) => /^\s*(return\b|\w+ = )/.test(l.text) && usable(i));
    if (at < 0) return once('edit', { path: `${dir(main)}/kodah_bench_note.py`, search: '', replace: '# kodah benchmark\n' });
    const [one, two] = [lines[at]!.text, lines[at + 1]!.text];
    return once('edit', { path: main.path, search: `${one}\n${two}`, replace: `${one}  # kodah: looked at\n${two}` });
  };
  /** The lines around the edit, read again. */
  const readEdited: Move = (answers) => {
    const line = Number(/applied at line (\d+)/.exec(answers.at(-1) ?? '')?.[1] ?? main.ranges[0]![0]);
    return once('read_file', { path: main.path, start_line: Math.max(1, line - 5), end_line: line + 20 });
  };

  return [
    search(queries[0]!),
    read(main),
    read(file(1)),
    list({ path: dir(main) }),
    run('true'),
    search(queries[1]!, `${top}/**`),
    read(main, 0, 60),
    run('python3 -c "import sympy"'),
    list({ path: dir(main), pattern: 'test_*.py' }),
    read(file(2)),
    run(`grep -n "def " ${main.path} | head -40`),
    search(queries[2]!),
    readTest,
    run(':'),
    edit,
    readEdited,
    run(`python3 -c "import ast; ast.parse(open('${main.path}').read())"`),
    run('true'),
    search(queries[3]!, `${dir(file(1))}/**`),
    read(file(3)),
    list({}),
    run('python3 -c "import sys; print(sys.version)"'),
    read(file(1), 1, 30),
    search(queries[4]!),
    run(`grep -rn "${identifier}" ${dir(main)} | head -20`),
    read(main, 1),
    run('/bin/true'),
    list({ path: dir(file(1)) }),
    read(file(4), 0, 10),
    () => ({ name: 'submit', arguments: { explanation: 'A benchmark edit: a comment on a line it read.' } }),
  ];
}

/**
 * The fake model's reply for one job: the script, built from the first request's prompt, one
 * call an answer; past its end (a rejected submit) it submits again. `seen` gets every request.
 */
export function scriptedAgent(seen: (request: FakeChatRequest) => void): (request: FakeChatRequest) => FakeToolCalls {
  let moves: Move[] | null = null;
  return (request) => {
    seen(request);
    moves ??= agentScript(readFirstPrompt(request.messages[1]?.content ?? ''));
    const answers = request.messages.filter((m) => m.role === 'tool').map((m) => m.content ?? '');
    const made = request.messages.filter((m) => m.role === 'assistant').length;
    return { toolCalls: [moves[Math.min(made, moves.length - 1)]!(answers)] };
  };
}
