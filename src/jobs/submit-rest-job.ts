import type { Queryable } from '../db/database.js';
import type { RepoInfo, ResolvedRef } from '../git/repository-probe.js';
import { KodahError } from '../lib/errors.js';
import { type CallbackPolicy, checkCallbackUrl, type ResolveHost } from './callback-url.js';
import { type PullRequestTarget, readJobDeliveries, recordJobDeliveries } from './job-deliveries.js';
import { submitJob, type SubmitJobDeps } from './submit-job.js';

/** What a REST caller asks for: the job, and where its answer goes besides the result. */
export interface RestJobInput {
  task: 'fix';
  repoUrl: string;
  ref: string;
  description: string;
  /** POSTed the job's final status when it ends, signed with the account's secret. */
  callbackUrl?: string;
  /** `pull_request`: a draft pull request through the GitHub App when the job succeeds. */
  deliver?: 'pull_request';
}

/** Finds the App's installation through which an account may open pull requests on a repository. */
export interface PullRequestTargets {
  /** The target, or a 422 KodahError (`deliver: …`) that says why there is none. */
  find(accountId: string, repoUrl: string): Promise<PullRequestTarget>;
}

export interface RestJobDeps {
  submit: SubmitJobDeps;
  callbackPolicy: CallbackPolicy;
  /** Tests script the resolver; the system's otherwise. */
  resolve?: ResolveHost;
  /** Null when the GitHub App is not configured. */
  pullRequests: PullRequestTargets | null;
}

function deliverError(message: string): KodahError {
  return new KodahError('invalid_input', `deliver: ${message}`, { kind: 'input' });
}

/** The branch a pull request goes into: the job's ref, which must be a branch. */
function baseBranch(asked: string, ref: ResolvedRef, repo: RepoInfo): string {
  if (ref.kind !== 'branch') {
    throw deliverError(`"pull_request" needs ref to be a branch, which the pull request goes into (${asked} is a ${ref.kind})`);
  }
  if (asked === 'HEAD') return (repo.refs.head ?? '').replace(/^refs\/heads\//, '');
  return asked.replace(/^refs\/heads\//, '');
}

/**
 * Accepts a REST job as submitJob does, after checking what it asks for beyond its result: the
 * callback URL against the URL policy (resolved now; again at delivery), and for a pull request
 * the App's installation. Both are 422s before anything is probed or charged; what they need is
 * recorded in the transaction that accepts the job.
 */
export async function submitRestJob(deps: RestJobDeps, accountId: string, input: RestJobInput): Promise<{ jobId: string }> {
  const callbackUrl =
    input.callbackUrl === undefined ? undefined : await checkCallbackUrl(input.callbackUrl, deps.callbackPolicy, deps.resolve);
  let target: PullRequestTarget | undefined;
  if (input.deliver === 'pull_request') {
    if (!deps.pullRequests) {
      throw deliverError(
        '"pull_request" needs the GitHub App, which this server does not have configured (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET)',
      );
    }
    target = await deps.pullRequests.find(accountId, input.repoUrl);
  }
  return submitJob(deps.submit, accountId, {
    task: input.task,
    repoUrl: input.repoUrl,
    ref: input.ref,
    description: input.description,
    onAccepted: async (tx: Queryable, job) => {
      const pullRequest = target && { ...target, baseRef: baseBranch(input.ref, job.ref, job.repo) };
      await recordJobDeliveries(tx, job.jobId, { callbackUrl, pullRequest });
    },
  });
}

/** What a job was asked with, for POST /jobs/{id}/retry. */
export async function restJobInput(
  db: Queryable,
  job: { id: string; task: 'fix'; repoUrl: string; ref: string; description: string },
): Promise<RestJobInput> {
  const { callback, pullRequest } = await readJobDeliveries(db, job.id);
  return {
    task: job.task,
    repoUrl: job.repoUrl,
    ref: job.ref,
    description: job.description,
    ...(callback ? { callbackUrl: callback.url } : {}),
    ...(pullRequest ? { deliver: 'pull_request' as const } : {}),
  };
}
