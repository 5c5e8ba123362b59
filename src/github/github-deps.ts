import type { PgBoss } from 'pg-boss';
import type { CodeIndexDeps } from '../code-index/manage-repositories.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { JobSettled } from '../jobs/job-lifecycle.js';
import type { SubmitJobDeps } from '../jobs/submit-job.js';
import type { Logger } from '../lib/logger.js';
import type { GitHubApi } from './github-api.js';
import type { PushSettings } from './push-fix.js';

/** What the App's event and delivery handlers work with; wired once in github-app.ts. */
export interface GitHubDeps {
  db: Database;
  boss: PgBoss;
  api: GitHubApi;
  settings: NonNullable<Config['github']>;
  log: Logger;
  /** Accepting jobs exactly as the REST API does: same credits, limits and refusals. */
  submit: SubmitJobDeps;
  /** Indexing newly covered repositories, when KODAH_GITHUB_INDEX_REPOSITORIES is on. */
  codeIndex: CodeIndexDeps | null;
  push: PushSettings;
  onSettled: JobSettled;
}

/** The clone URL of a repository on the App's GitHub. */
export function cloneUrl(settings: GitHubDeps['settings'], fullName: string): string {
  return `${settings.webUrl}/${fullName}.git`;
}
