import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { worktreeGit } from '../git/worktree-git.js';
import type { ToolSpec } from '../llm/chat-model.js';
import type { FactsCache } from '../localize/facts-cache.js';
import { localize } from '../localize/localize.js';
import { GlobError, globMatcher } from '../lib/glob.js';
import { applyEdits } from './apply-edits.js';
import type { TestPlan } from './plan-tests.js';
import { safeTarget } from './safe-path.js';
import type { Worktree } from './validate-worktree.js';

/** Every tool answer is cut to this: the model's context is not a log file. */
export const MAX_ANSWER_CHARS = 12_000;
const READ_LINES = 300;
const LIST_ENTRIES = 200;
const SEARCH_RESULTS = 6;
const SEARCH_SNIPPET_LINES = 60;

/** The six tools, with exactly these names and parameters. */
export const AGENT_TOOLS: ToolSpec[] = [
  {
    name: 'search_code',
    description:
      'Search the repository (as committed) for the functions and classes that best match a query: names, error messages, behaviour. Returns path:start-end and the code.',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'What to look for' },
        path_glob: { type: 'string', description: 'Only paths matching this glob, e.g. "src/**/*.py"' },
      },
      required: ['query'],
    },
  },
  {
    name: 'read_file',
    description: `Read a file of the work tree (with your edits) as numbered lines, at most ${READ_LINES} lines a call.`,
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string' },
        start_line: { type: 'integer', minimum: 1 },
        end_line: { type: 'integer', minimum: 1 },
      },
      required: ['path'],
    },
  },
  {
    name: 'list_files',
    description: `List the files under a folder, or matching a glob (at most ${LIST_ENTRIES}).`,
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'A folder of the repository; the root when absent' },
        pattern: { type: 'string', description: 'A glob such as "**/test_*.py"' },
      },
    },
  },
  {
    name: 'run',
    description:
      'Run a shell command (bash) in the repository, in a sandbox without network. Returns the exit code, the duration and the end of the output.',
    parameters: {
      type: 'object',
      properties: { command: { type: 'string' }, timeout_s: { type: 'integer', minimum: 1 } },
      required: ['command'],
    },
  },
  {
    name: 'edit',
    description:
      'Replace `search` (exact lines of the file, enough to be unique) with `replace` in a file. An empty `search` creates the file with `replace` as its content.',
    parameters: {
      type: 'object',
      properties: { path: { type: 'string' }, search: { type: 'string' }, replace: { type: 'string' } },
      required: ['path', 'search', 'replace'],
    },
  },
  {
    name: 'submit',
    description:
      'Submit the fix in the work tree. Kodah checks it (diff policy, syntax, the tests); if a check fails you get the failures back and can go on.',
    parameters: {
      type: 'object',
      properties: { explanation: { type: 'string', description: 'Two to five sentences: the cause and the fix' } },
      required: ['explanation'],
    },
  },
];

const argumentSchemas = {
  search_code: z.object({ query: z.string().min(1).max(2000), path_glob: z.string().max(500).optional() }),
  read_file: z.object({
    path: z.string().min(1).max(1000),
    start_line: z.number().int().min(1).optional(),
    end_line: z.number().int().min(1).optional(),
  }),
  list_files: z.object({ path: z.string().max(1000).optional(), pattern: z.string().max(500).optional() }),
  run: z.object({ command: z.string().min(1).max(10_000), timeout_s: z.number().int().min(1).optional() }),
  edit: z.object({ path: z.string().min(1).max(1000), search: z.string().max(200_000), replace: z.string().max(200_000) }),
  submit: z.object({ explanation: z.string().max(10_000).default('') }),
} as const;

export type ToolName = keyof typeof argumentSchemas;
export const TOOL_NAMES = Object.keys(argumentSchemas) as ToolName[];

/** What the tools work on, for one candidate. */
export interface AgentWorkspace {
  tree: Worktree;
  plan: TestPlan;
  localizeCache: FactsCache;
  /** The most one command may run. */
  commandTimeoutMs: number;
  /** When the candidate's time is up (ms since the epoch): no command runs past it. */
  deadline: number;
  signal: AbortSignal;
  /** Files the agent created with `edit` (the only untracked files that are part of the fix). */
  created: Set<string>;
  /** Files it read or searched into, for the summary of a run without a fix. */
  viewed: Set<string>;
  /** The last test-like command's output, for the same summary. */
  lastOutput: string | null;
}

/** A tool call's outcome: the answer for the model and the line people see. */
export interface ToolOutcome {
  answer: string;
  target: string;
  outcome: string;
  ok: boolean;
  /** The call changed the work tree (an applied edit, or any command, which may write). */
  changed: boolean;
}

/** Parses a call's raw arguments; a sentence for the model when they are not what the tool takes. */
export function parseArguments(
  name: string,
  raw: string,
): { ok: true; tool: ToolName; args: Record<string, unknown> } | { ok: false; problem: string } {
  if (!(TOOL_NAMES as string[]).includes(name))
    return { ok: false, problem: `There is no tool "${name.slice(0, 60)}". The tools are: ${TOOL_NAMES.join(', ')}.` };
  let value: unknown;
  try {
    value = JSON.parse(raw || '{}');
  } catch (err) {
    return {
      ok: false,
      problem: `The arguments of ${name} are not valid JSON (${(err as Error).message.slice(0, 120)}). Send a JSON object.`,
    };
  }
  const parsed = argumentSchemas[name as ToolName].safeParse(value);
  if (!parsed.success)
    return {
      ok: false,
      problem: `The arguments of ${name} are not right: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ')}.`,
    };
  return { ok: true, tool: name as ToolName, args: parsed.data as Record<string, unknown> };
}

/** Cuts text to the answer bound, keeping its start and end (the end of an output says most). */
export function bounded(text: string, max = MAX_ANSWER_CHARS): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.3);
  return `${text.slice(0, head)}\n[… ${text.length - max} characters left out …]\n${text.slice(text.length - (max - head))}`;
}

/** Lines as the first prompt shows them (build-context.ts): number, tab, line. */
const numbered = (lines: readonly string[], first: number) => lines.map((line, i) => `${first + i}\t${line}`).join('\n');

/** Runs one call of a tool other than submit (the loop handles submit: it ends or continues the run). */
export async function runTool(ws: AgentWorkspace, tool: Exclude<ToolName, 'submit'>, args: Record<string, unknown>): Promise<ToolOutcome> {
  switch (tool) {
    case 'search_code':
      return searchCode(ws, args as z.infer<typeof argumentSchemas.search_code>);
    case 'read_file':
      return readWorkFile(ws, args as z.infer<typeof argumentSchemas.read_file>);
    case 'list_files':
      return listFiles(ws, args as z.infer<typeof argumentSchemas.list_files>);
    case 'run':
      return runCommand(ws, args as z.infer<typeof argumentSchemas.run>);
    case 'edit':
      return editFile(ws, args as z.infer<typeof argumentSchemas.edit>);
  }
}

async function searchCode(ws: AgentWorkspace, args: { query: string; path_glob?: string }): Promise<ToolOutcome> {
  const target = args.path_glob ? `${args.query} in ${args.path_glob}` : args.query;
  const within = args.path_glob ? glob(args.path_glob, false) : undefined;
  if (within instanceof GlobError) return { answer: within.message, target, outcome: 'bad glob', ok: false, changed: false };
  // An agent searches often and in few words: the diffs of past commits (past-functions.ts) would
  // add about 100 ms to every step for little, so only the first localization reads them.
  const localized = await localize(ws.tree.gitDir, ws.tree.commit, args.query, {
    cache: ws.localizeCache,
    files: 30,
    snippets: 80,
    pastFunctions: false,
    // The glob picks the files before their functions are ranked: filtering the results instead
    // would find nothing in a folder whose files rank below the best few for the query.
    within,
  });
  const hits = localized.snippets.slice(0, SEARCH_RESULTS);
  if (!hits.length) return { answer: 'No functions or classes match.', target, outcome: 'no results', ok: true, changed: false };
  const parts = hits.map((s) => {
    ws.viewed.add(s.path);
    const lines = s.text.split('\n');
    const shown = lines.slice(0, SEARCH_SNIPPET_LINES);
    const more = lines.length > shown.length ? `\n… ${lines.length - shown.length} more lines: read_file to see them` : '';
    return `${s.path}:${s.startLine}-${s.endLine} (${s.qualifiedName})\n${numbered(shown, s.startLine)}${more}`;
  });
  const answer = `Line numbers are the committed file's; your edits may have moved them.\n\n${parts.join('\n\n')}`;
  return { answer: bounded(answer), target, outcome: `${hits.length} results`, ok: true, changed: false };
}

async function readWorkFile(ws: AgentWorkspace, args: { path: string; start_line?: number; end_line?: number }): Promise<ToolOutcome> {
  const target = `${args.path}${args.start_line ? `:${args.start_line}-${args.end_line ?? ''}` : ''}`;
  const fail = (answer: string, outcome: string): ToolOutcome => ({ answer, target, outcome, ok: false, changed: false });
  const safe = await safeTarget(ws.tree.dir, args.path);
  if ('problem' in safe) return fail(safe.problem, 'refused');
  if (isGitPath(ws.tree.dir, safe.path)) return fail('.git is not part of the repository you can read.', 'refused');
  const info = await stat(safe.path).catch(() => null);
  if (!info) return fail(`${args.path} does not exist.`, 'not found');
  if (info.isDirectory()) return fail(`${args.path} is a folder: use list_files.`, 'a folder');
  // A command may have left a FIFO or a socket there: opening one would wait for ever.
  if (!info.isFile()) return fail(`${args.path} is not a regular file.`, 'not a file');
  if (info.size > 20 * 1024 * 1024) return fail(`${args.path} is ${info.size} bytes: too large to read.`, 'too large');
  const content = await readFile(safe.path);
  if (content.subarray(0, 8000).includes(0)) return fail(`${args.path} is a binary file.`, 'binary');
  ws.viewed.add(args.path);
  const lines = content.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const start = Math.min(args.start_line ?? 1, Math.max(1, lines.length));
  const end = Math.min(lines.length, args.end_line ?? start + READ_LINES - 1, start + READ_LINES - 1);
  const shown = lines.slice(start - 1, end).map((l) => (l.length > 400 ? `${l.slice(0, 400)} [… line cut]` : l));
  const more = end < lines.length ? `\n[lines ${end + 1}-${lines.length} not shown: ask for them with start_line]` : '';
  const answer = `${args.path} (${lines.length} lines)\n${numbered(shown, start)}${more}`;
  return { answer: bounded(answer), target, outcome: `lines ${start}-${end} of ${lines.length}`, ok: true, changed: false };
}

async function listFiles(ws: AgentWorkspace, args: { path?: string; pattern?: string }): Promise<ToolOutcome> {
  const folder = (args.path ?? '').replace(/^\.?\/+/, '').replace(/\/+$/, '');
  const target = [folder || '.', args.pattern].filter(Boolean).join(' ');
  if (folder.split('/').includes('..'))
    return { answer: 'The path leaves the repository.', target, outcome: 'refused', ok: false, changed: false };
  const listed = await worktreeGit(ws.tree.dir, [
    'ls-files',
    '-z',
    '--cached',
    '--others',
    '--exclude-standard',
    '--',
    folder ? `:(literal)${folder}` : '.',
  ]);
  const matches = args.pattern ? glob(args.pattern, true) : () => true;
  if (matches instanceof GlobError) return { answer: matches.message, target, outcome: 'bad pattern', ok: false, changed: false };
  const all = [...new Set(listed.split('\0').filter(Boolean))].filter((p) => matches(p)).sort();
  if (!all.length) return { answer: 'No files match.', target, outcome: 'no files', ok: true, changed: false };
  const shown = all.slice(0, LIST_ENTRIES);
  const more = all.length > shown.length ? `\n[… and ${all.length - shown.length} more: narrow the path or pattern]` : '';
  return { answer: bounded(shown.join('\n') + more), target, outcome: `${all.length} files`, ok: true, changed: false };
}

async function runCommand(ws: AgentWorkspace, args: { command: string; timeout_s?: number }): Promise<ToolOutcome> {
  const target = args.command.length > 200 ? `${args.command.slice(0, 199)}…` : args.command;
  const sandbox = ws.plan.sandbox;
  if (!sandbox) {
    const why = ws.plan.noSandbox ?? 'no sandbox';
    return {
      answer: `Commands cannot run for this job: ${why}. Read and edit the code instead.`,
      target,
      outcome: 'no sandbox',
      ok: false,
      changed: false,
    };
  }
  const left = ws.deadline - Date.now();
  if (left < 1000)
    return { answer: 'No time is left for commands: submit your fix.', target, outcome: 'out of time', ok: false, changed: false };
  const timeoutMs = Math.min(ws.commandTimeoutMs, (args.timeout_s ?? Infinity) * 1000, left);
  const run = await sandbox.run(args.command, { limits: { ...ws.plan.limits, timeoutMs }, network: false, signal: ws.signal });
  const stopped = run.limit
    ? run.limit === 'time'
      ? `stopped after ${Math.round(timeoutMs / 1000)} s (its time limit)`
      : `stopped at the sandbox's ${run.limit} limit`
    : `exit code ${run.exitCode}`;
  const output = run.outputTail.trim() ? bounded(run.outputTail, MAX_ANSWER_CHARS - 200) : '(no output)';
  if (/\b(pytest|test|tox|jest|vitest|go test|cargo test|unittest)\b/.test(args.command)) ws.lastOutput = run.outputTail.slice(-4000);
  return {
    answer: `${stopped}, ${run.seconds} s\n${output}`,
    target,
    outcome: `${stopped} (${run.seconds} s)`,
    ok: run.exitCode === 0,
    changed: true,
  };
}

async function editFile(ws: AgentWorkspace, args: { path: string; search: string; replace: string }): Promise<ToolOutcome> {
  const target = args.path;
  const fail = (answer: string, outcome: string): ToolOutcome => ({ answer, target, outcome, ok: false, changed: false });
  const safe = await safeTarget(ws.tree.dir, args.path);
  if ('problem' in safe) return fail(safe.problem, 'refused');
  if (isGitPath(ws.tree.dir, safe.path)) return fail('A fix may not change anything under .git/.', 'refused');
  const relative = path.relative(ws.tree.dir, safe.path).split(path.sep).join('/');
  const info = await stat(safe.path).catch(() => null);
  if (info && !info.isFile()) return fail(`${args.path} is not a regular file.`, 'not a file');
  const current = info ? await readFile(safe.path, 'utf8') : null;
  const lines = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`);
  const edit = { path: relative, search: lines(args.search), replace: lines(args.replace), index: 0 };
  const applied = applyEdits(new Map([[relative, current]]), [edit]);
  const failure = applied.failures[0];
  if (failure) return fail(failure.message, failure.reason.replace('_', ' '));
  const content = applied.files.get(relative)!;
  await mkdir(path.dirname(safe.path), { recursive: true });
  await writeFile(safe.path, content);
  if (current === null) ws.created.add(relative);
  const how = applied.applied[0]!;
  const where = how.how === 'created' ? 'created' : `applied at line ${how.line}${how.how === 'exact' ? '' : ` (matched ${how.how})`}`;
  return { answer: `${relative}: ${where}.`, target, outcome: how.how === 'created' ? 'created' : 'applied', ok: true, changed: true };
}

function isGitPath(root: string, target: string): boolean {
  return path.relative(root, target).split(path.sep).includes('.git');
}

/** A glob the model wrote, or why it cannot be matched (said back to it). */
function glob(pattern: string, basename: boolean): ((path: string) => boolean) | GlobError {
  try {
    return globMatcher(pattern, { basename });
  } catch (err) {
    if (err instanceof GlobError) return new GlobError(`The pattern ${JSON.stringify(pattern)} cannot be matched: ${err.message}.`);
    throw err;
  }
}
