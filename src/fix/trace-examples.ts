import { randomUUID } from 'node:crypto';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { ExecutedFunctions, RaisedFrame } from '../localize/execution-signals.js';
import type { Sandbox, SandboxLimits, SandboxRun } from '../sandbox/sandbox.js';
import { EXAMPLE_TRACER } from './example-tracer.js';

/** The report read for examples, at most: a longer one is mostly logs. */
const REPORT_CHARS = 32_000;
/** Time for the examples' statements together; the package's import comes on top. */
const EXAMPLE_SECONDS = 20;
/** The import of a large package (sympy, astropy) before the first statement, and Python's start. */
const START_SECONDS = 15;

/** Something in the report that may be code: a fence, a `>>>` session, an IPython prompt. */
const EXAMPLE_MARK = /^\s*(?:```|~~~|>>>|In \[\d+\]: )/m;

/** Whether a report may hold examples to run: what traceExamples runs nothing without. */
export const showsCode = (report: string): boolean => EXAMPLE_MARK.test(report);

const answerSchema = z.object({
  statements: z.number().int().min(0),
  ran: z.number().int().min(0),
  files: z.record(z.string().max(1000), z.array(z.string().max(1000)).max(40)),
  // The tracer keeps 10 frames of each of 5 errors at most.
  raised: z
    .array(z.tuple([z.string().max(1000), z.string().max(1000), z.number().int().min(0).max(100)]))
    .max(50)
    .default([]),
});

export interface TracedExamples {
  /** The run as the job records it (its command shown as what it is, not the program sent). */
  run: SandboxRun;
  /** The statements found in the report, and those that ran without an error. */
  statements: number;
  ran: number;
  /** The repository's files the examples called into, each with the functions called. */
  executed: ExecutedFunctions;
  /** Where the errors the examples stopped on were raised in the repository's code, innermost first. */
  raised: RaisedFrame[];
}

/**
 * Runs the Python examples of a bug report in the job's sandbox, traced, and returns which of the
 * repository's functions they called: the code that runs when the reporter's example runs is
 * where most fixes go (on the dev reports of sympy, the accepted fix's files were among them for
 * 33 of 44). Null when the report shows no code (nothing runs); no files when the run gave no
 * answer (no Python in the sandbox, a limit stopped it).
 *
 * The examples are the reporter's code: they run in the sandbox like any repository command,
 * without network and within the limits. They share the process with the tracer, so they could
 * print an answer of their own; the worst that does is reorder the files this job is shown,
 * and only among the repository's own paths (the caller keeps those alone).
 */
export async function traceExamples(
  sandbox: Sandbox,
  report: string,
  options: {
    /** The package the examples may use without importing it (`from sympy import *` in a doctest). */
    package: string | null;
    limits: SandboxLimits;
    signal?: AbortSignal;
    /** Python run before the examples, untraced: the benchmark's shims for old code on a new Python. */
    prelude?: string;
    /** Time for the examples' statements together (EXAMPLE_SECONDS). */
    seconds?: number;
  },
): Promise<TracedExamples | null> {
  if (!showsCode(report)) return null;
  const mark = `KODAH_TRACE_${randomUUID().replaceAll('-', '')}`;
  const seconds = options.seconds ?? EXAMPLE_SECONDS;
  const program = EXAMPLE_TRACER.replaceAll('__REPORT__', base64(report.slice(0, REPORT_CHARS)))
    .replaceAll('__PACKAGE__', options.package ?? '')
    .replaceAll('__PRELUDE__', base64(options.prelude ?? ''))
    .replaceAll('__SECONDS__', String(seconds))
    // The answer is the output's last line: it must fit in the tail that is kept.
    .replaceAll('__BYTES__', String(Math.max(256, Math.min(options.limits.outputTailBytes - 256, 64 * 1024))))
    .replaceAll('__MARK__', mark);
  // A virtual environment the repository's setup made is where its dependencies are.
  const command =
    'if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi; ' +
    `exec "$py" -c 'import base64; exec(base64.b64decode("${base64(program)}").decode())'`;
  const limits = { ...options.limits, timeoutMs: Math.min(options.limits.timeoutMs, (seconds + START_SECONDS) * 1000) };
  const run = await sandbox.run(command, { limits, signal: options.signal });
  const shown = { ...run, command: 'python3: the report’s examples, traced' };
  const answer = readAnswer(run.outputTail, mark);
  // No answer: the run is shown as it ended (Python missing, the package failing to import).
  if (!answer) return { run: shown, statements: 0, ran: 0, executed: new Map(), raised: [] };
  // Looked up by the paths of the commit's tree only: a path the answer makes up matches none.
  const executed = new Map(Object.entries(answer.files).map(([file, names]) => [file, new Set(names)]));
  const raised = answer.raised.map(([file, func, depth]) => ({ path: file, func, depth }));
  return { run: { ...shown, outputTail: summary(answer) }, statements: answer.statements, ran: answer.ran, executed, raised };
}

/** The tracer's answer: the last line that starts with the mark, if it reads as one. */
function readAnswer(output: string, mark: string): z.infer<typeof answerSchema> | null {
  const line = output
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(`${mark} `));
  if (!line) return null;
  try {
    return answerSchema.parse(JSON.parse(line.slice(mark.length + 1)));
  } catch {
    return null;
  }
}

/**
 * The package a report's examples use unimported: the one named after the repository, at its top
 * or under `src/` (`sympy/sympy` → `sympy`, `pallets/flask` → `src/flask`). Null when there is none.
 */
export async function examplePackage(worktree: string, repoName: string): Promise<string | null> {
  const name = repoName.replace(/\.git$/, '').replace(/-/g, '_');
  if (!/^[A-Za-z_]\w*$/.test(name)) return null;
  for (const where of [name, path.join('src', name)]) {
    const found = await access(path.join(worktree, where, '__init__.py')).then(
      () => true,
      () => false,
    );
    if (found) return name;
  }
  return null;
}

function summary(answer: z.infer<typeof answerSchema>): string {
  const files = Object.keys(answer.files);
  return (
    `${answer.ran} of ${answer.statements} statements of the report's examples ran; they called into ${files.length} files` +
    (files.length ? `: ${files.slice(0, 10).join(', ')}${files.length > 10 ? ', …' : ''}` : '') +
    (answer.raised.length ? `; an error was raised in ${answer.raised[0]![1]} (${answer.raised[0]![0]})` : '')
  );
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
