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
  phase: 'setup' | 'tests';
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
}

export interface FixContext {
  signal: AbortSignal;
  log: Logger;
  /** Shows the stage on the status endpoint; progress is 0–100. */
  report(stage: string, progress: number): Promise<void>;
  /** Records a command the sandbox ran, for the status endpoint. */
  recordCommand?(command: SandboxCommand): Promise<void>;
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
