import type { Visibility } from '../billing/credits.js';
import { KodahError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export interface FixRequest {
  jobId: string;
  repoUrl: string;
  ref: string;
  /** The commit the ref pointed at when the worker started. */
  commitSha: string;
  description: string;
  visibility: Visibility;
}

export interface FixResult {
  diff: string;
  explanation?: string;
  filesChanged: string[];
  usage?: { promptTokens: number; completionTokens: number; costUsd?: number };
}

export interface FixContext {
  signal: AbortSignal;
  log: Logger;
  /** Shows the stage on the status endpoint; progress is 0–100. */
  report(stage: string, progress: number): Promise<void>;
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
