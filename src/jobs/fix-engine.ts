import type { Visibility } from '../git/repository-probe.js';
import { KodahError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export interface FixRequest {
  jobId: string;
  /** Whose credentials may read a private repository. */
  accountId: string;
  repoUrl: string;
  ref: string;
  /** The commit the ref pointed at when the worker started. */
  commitSha: string;
  description: string;
  visibility: Visibility;
  /** Overrides the repository's `.github/kodah.yml` test_command. */
  testCommand?: string;
}

/** One check of a candidate fix and how it went. */
export interface FixCheck {
  name: 'diff_policy' | 'syntax' | 'tests';
  outcome: 'passed' | 'failed' | 'skipped' | 'timeout';
  detail?: string;
}

/** One command run in the sandbox for a job, as the user sees it. */
export interface SandboxCommand {
  /** `examples`: the report's examples, run traced to find the code they call (fix/trace-examples.ts). */
  phase: 'setup' | 'examples' | 'tests';
  command: string;
  /** The sandbox driver it ran in (`bubblewrap`, `container`, `none`). */
  sandbox: string;
  /** Null when it was stopped (a limit, or the job was cancelled). */
  exitCode: number | null;
  /** The limit that stopped it: time, memory, processes, output or disk. */
  limit: string | null;
  seconds: number;
  /** The end of its output. */
  outputTail: string;
  /** A setup whose prepared environment came from the cache instead of running. */
  cached?: boolean;
}

/** One step of the agent: a tool it called and how that went, as people see it. */
export interface FixStep {
  /** 1, 2, 3… across the whole job (all candidates). */
  n: number;
  /** Which independent run it belongs to (1 when there is one). */
  candidate: number;
  /** search_code, read_file, list_files, run, edit, submit; `model` for an answer without a tool call. */
  tool: string;
  /** What it was called on: the query, the path (with lines), the command (cut to 200 characters). */
  target: string;
  /** One line: "7 results", "exit 1 (1.2 s)", "applied", "refused: the same call again"… */
  outcome: string;
  ok: boolean;
  /** Wall time of the tool call (not of the model's answer before it). */
  seconds: number;
}

/** A run of the repository's tests, summarised: which tests failed, not the whole output. */
export interface FixTestRun {
  command: string;
  /** Null when a limit or the job stopped it. */
  exitCode: number | null;
  /** Ids of the tests that failed or errored (`tests/test_x.py::test_y`), as the runner printed them. */
  failed: string[];
  /** How many passed, when the runner said so. */
  passed: number | null;
  seconds: number;
}

/** How the winning candidate was chosen among several. */
export interface FixCandidates {
  tried: number;
  /** Its number (1-based). */
  winner: number;
  why: string;
}

export interface FixResult {
  diff: string;
  explanation?: string;
  filesChanged: string[];
  usage?: { promptTokens: number; completionTokens: number; costUsd?: number };
  /** The checks the returned diff passed (or skipped). */
  checks?: FixCheck[];
  /** Model answers it took. */
  attempts?: number;
  /** Seconds spent in each stage (checkout, localize, context, generate, apply, validate). */
  stageSeconds?: Record<string, number>;
  /** `agent` (the model called tools) or `single-shot` (one answer with edit blocks per attempt). */
  mode?: 'agent' | 'single-shot';
  /** The agent's steps, in order (bounded). */
  steps?: FixStep[];
  /** The repository's tests before any edit and with the fix; absent when there is no test command. */
  tests?: { before: FixTestRun | null; after: FixTestRun | null };
  candidates?: FixCandidates;
}

export interface FixContext {
  signal: AbortSignal;
  log: Logger;
  /** Shows the stage on the status endpoint; progress is 0–100. */
  report(stage: string, progress: number): Promise<void>;
  /** Records a command the sandbox ran, for the status endpoint. */
  recordCommand?(command: SandboxCommand): Promise<void>;
  /** Records a step of the agent as it ends, for `GET /jobs/{id}/events` and the status comment. */
  recordStep?(step: FixStep): Promise<void>;
}

/** What turns a job into a diff. The fix pipeline is the real implementation (a later issue). */
export interface FixEngine {
  fix(request: FixRequest, context: FixContext): Promise<FixResult>;
}

/** The engine until one is configured: every job fails as our error, so its credit comes back. */
export const unconfiguredEngine: FixEngine = {
  async fix() {
    throw new KodahError('engine_not_configured', 'fix engine not configured');
  },
};
