import type { PgBoss } from 'pg-boss';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { enqueueCallback, JOB_PULL_REQUEST_QUEUE, type JobDeliveryData } from '../jobs/delivery-queues.js';
import { type PullRequestRecord, readJobDeliveries, recordPullRequest } from '../jobs/job-deliveries.js';
import { getJobById } from '../jobs/job-lifecycle.js';
import type { JobRecord } from '../jobs/job-record.js';
import type { Logger } from '../lib/logger.js';
import type { GitHubApi } from './github-api.js';
import { isPermanent } from './permanent-error.js';
import { cloneUrl } from './github-deps.js';
import { KODAH_BRANCH_PREFIX } from './kodah-branch.js';
import { findOrOpenDraftPullRequest } from './open-draft-pull-request.js';
import { pushFix, type PushSettings } from './push-fix.js';
import { renderCommitMessage, renderPullRequestBody } from './render-pull-request.js';
import { repoName } from './repo-access.js';
import { sanitizeText } from './sanitize-text.js';

export interface JobPullRequestDeps {
  db: Database;
  boss: PgBoss;
  api: GitHubApi;
  settings: NonNullable<Config['github']>;
  push: PushSettings;
  log: Logger;
}

/** The branch of a REST job's fix: the whole job id, so no two jobs ever share (and force-push) one. */
export const jobBranch = (jobId: string) => `${KODAH_BRANCH_PREFIX}fix-${jobId}`;

/** The first line of the description, as a title: what a person wrote first is what the bug is called. */
function titleOf(description: string): string {
  const line =
    sanitizeText(description)
      .split('\n')
      .find((l) => l.trim()) ?? '';
  const title = line.trim().replace(/\s+/g, ' ');
  return [...title].length > 120 ? `${[...title].slice(0, 119).join('')}…` : title;
}

/** Pushes the job's fix to its branch and opens (or finds) its draft pull request. */
async function openPullRequest(deps: JobPullRequestDeps, job: JobRecord, target: PullRequestRecord) {
  const result = job.result!;
  const branch = jobBranch(job.id);
  const title = titleOf(job.description);
  const botLogin = await deps.api.botLogin();
  await pushFix(
    {
      repoUrl: cloneUrl(deps.settings, target.fullName),
      token: await deps.api.repositoryToken(target.installationId, target.repositoryId, 'write'),
      parent: job.commitSha!,
      diff: result.diff,
      branch,
      message: renderCommitMessage({ issueNumber: null, title, explanation: result.explanation, closes: false }),
      author: { name: botLogin, email: `${botLogin}@users.noreply.github.com` },
      // Fixed, so a retry makes the same commit and its push changes nothing.
      date: job.completedAt ?? job.createdAt,
      force: true,
    },
    deps.push,
  );
  const pr = await findOrOpenDraftPullRequest(deps.api.installation(target.installationId), repoName(target.fullName), {
    branch,
    base: target.baseRef,
    title: () => (title ? `Fix: ${title}` : 'Fix from Kodah').slice(0, 256),
    body: () =>
      renderPullRequestBody({
        issueNumber: null,
        closes: false,
        explanation: result.explanation,
        filesChanged: result.filesChanged,
        checks: result.checks ?? [],
        jobId: job.id,
        source: 'a request to the Kodah API',
        evidence: result,
      }),
  });
  return { branch, ...pr };
}

/**
 * Delivers a succeeded REST job's draft pull request, then queues its callback (which carries the
 * pull request's URL). Idempotent: the push makes the same commit and the pull request is found by
 * its branch. A failure no retry cures, or the last attempt's, is recorded as the job's
 * `pull_request_error` and the callback still goes; any other is thrown for the queue to retry.
 */
export async function deliverJobPullRequest(deps: JobPullRequestDeps, jobId: string, lastAttempt: boolean): Promise<void> {
  const job = await getJobById(deps.db, jobId);
  const { callback, pullRequest } = await readJobDeliveries(deps.db, jobId);
  if (!job || !pullRequest) return;
  const log = deps.log.child({ jobId, repo: pullRequest.fullName });
  if (!pullRequest.url && !pullRequest.error && job.state === 'completed' && job.result) {
    try {
      const opened = await openPullRequest(deps, job, pullRequest);
      await recordPullRequest(deps.db, jobId, opened);
      log.info({ pr: opened.url }, 'draft pull request opened for a REST job');
    } catch (err) {
      if (!isPermanent(err) && !lastAttempt) {
        log.warn({ err }, 'opening the pull request failed; the queue retries it');
        throw err;
      }
      const message = err instanceof Error ? err.message : String(err);
      await recordPullRequest(deps.db, jobId, { error: message });
      log.warn({ err }, 'no pull request for the job');
    }
  }
  if (callback) await enqueueCallback(deps.boss, jobId, callback.deliveryId);
}

/** Subscribes this process to the queue of REST jobs' pull requests. */
export async function startJobPullRequestWorker(deps: JobPullRequestDeps, concurrency: number): Promise<void> {
  const options = { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 2, includeMetadata: true } as const;
  await deps.boss.work<JobDeliveryData, void, typeof options>(JOB_PULL_REQUEST_QUEUE, options, async ([job]) => {
    if (job) await deliverJobPullRequest(deps, job.data.jobId, job.retryCount >= job.retryLimit);
  });
}
