import { buildCheckDescription, type FailedCheck } from './check-description.js';
import type { RepoEventContext } from './event-context.js';
import type { Octokit } from './github-api.js';
import { coveringAccount } from './installations.js';
import { isKodahBranch } from './kodah-branch.js';
import { logTail } from './log-tail.js';
import { checkRunPayload, checkSuitePayload, type PullRequestRef, type Repository, workflowRunPayload } from './payloads.js';
import { readRepoSettingsAt, type RepoName } from './repo-access.js';
import { startTask } from './start-task.js';
import { claimChecks, taskIdFor } from './tasks.js';

/** Conclusions that mean the code is broken (not cancelled, skipped or waiting for a person). */
export const FAILED = new Set(['failure', 'timed_out']);

/** A failed check run as the three events describe it, before its details are fetched. */
interface FailedRun {
  id: number;
  name: string;
  conclusion: string;
  /** GitHub Actions runs have a job log to read. */
  actions: boolean;
  output?: { title?: string | null; summary?: string | null; text?: string | null } | null;
  url?: string | null;
}

interface CheckFailure {
  repository: Repository;
  headSha: string;
  headBranch: string | null;
  pullRequests: PullRequestRef[];
  /** Whether the head is in a fork (workflow_run tells; for checks GitHub lists no pull request then). */
  fromFork: boolean;
  runs(octokit: Octokit, repo: RepoName): Promise<FailedRun[]>;
}

/** check_run, check_suite and workflow_run, completed with a failure, seen as one thing. */
function readFailure(event: string, raw: unknown): CheckFailure | null {
  if (event === 'check_run') {
    const p = checkRunPayload.parse(raw);
    const run = p.check_run;
    if (!FAILED.has(run.conclusion ?? '')) return null;
    return {
      repository: p.repository,
      headSha: run.head_sha,
      headBranch: run.check_suite?.head_branch ?? null,
      pullRequests: run.pull_requests,
      fromFork: false,
      runs: async () => [
        {
          id: run.id,
          name: run.name,
          conclusion: run.conclusion!,
          actions: run.app?.slug === 'github-actions',
          output: run.output,
          url: run.html_url,
        },
      ],
    };
  }
  if (event === 'check_suite') {
    const p = checkSuitePayload.parse(raw);
    const suite = p.check_suite;
    if (!FAILED.has(suite.conclusion ?? '')) return null;
    return {
      repository: p.repository,
      headSha: suite.head_sha,
      headBranch: suite.head_branch ?? null,
      pullRequests: suite.pull_requests,
      fromFork: false,
      async runs(octokit, repo) {
        const runs = await octokit.paginate(octokit.rest.checks.listForSuite, {
          ...repo,
          check_suite_id: suite.id,
          filter: 'latest',
          per_page: 100,
        });
        return runs
          .filter((r) => FAILED.has(r.conclusion ?? ''))
          .map((r) => ({
            id: r.id,
            name: r.name,
            conclusion: r.conclusion!,
            actions: r.app?.slug === 'github-actions',
            output: r.output,
            url: r.html_url,
          }));
      },
    };
  }
  if (event === 'workflow_run') {
    const p = workflowRunPayload.parse(raw);
    const run = p.workflow_run;
    if (!FAILED.has(run.conclusion ?? '')) return null;
    return {
      repository: p.repository,
      headSha: run.head_sha,
      headBranch: run.head_branch ?? null,
      pullRequests: run.pull_requests,
      fromFork: run.head_repository ? run.head_repository.id !== p.repository.id : false,
      async runs(octokit, repo) {
        const jobs = await octokit.paginate(octokit.rest.actions.listJobsForWorkflowRun, {
          ...repo,
          run_id: run.id,
          filter: 'latest',
          per_page: 100,
        });
        // An Actions job is a check run with the same id: its output and annotations live there.
        const failed = jobs.filter((j) => FAILED.has(j.conclusion ?? ''));
        return Promise.all(
          failed.map(async (j) => {
            const check = await octokit.rest.checks.get({ ...repo, check_run_id: j.id }).then(
              (r) => r.data,
              () => null,
            );
            return {
              id: j.id,
              name: j.name,
              conclusion: j.conclusion!,
              actions: true,
              output: check?.output ?? null,
              url: j.html_url ?? null,
            };
          }),
        );
      },
    };
  }
  return null;
}

/** Annotations, and for GitHub Actions the tail of the job's log, of one failed run. */
async function details(octokit: Octokit, repo: RepoName, run: FailedRun): Promise<FailedCheck> {
  const annotations = await octokit
    .paginate(octokit.rest.checks.listAnnotations, { ...repo, check_run_id: run.id, per_page: 100 })
    .catch(() => []);
  let tail: string | null = null;
  if (run.actions) {
    // The API answers with a redirect to a short-lived download URL, which the client follows.
    const log = await octokit.rest.actions.downloadJobLogsForWorkflowRun({ ...repo, job_id: run.id }).then(
      (r) => r.data as unknown,
      () => null,
    );
    if (typeof log === 'string') tail = logTail(log);
    else if (log instanceof ArrayBuffer) tail = logTail(Buffer.from(log).toString('utf8'));
  }
  return {
    name: run.name,
    conclusion: run.conclusion,
    title: run.output?.title ?? null,
    summary: run.output?.summary ?? null,
    text: run.output?.text ?? null,
    annotations: annotations.map((a) => ({
      path: a.path,
      start_line: a.start_line,
      end_line: a.end_line,
      annotation_level: a.annotation_level ?? 'failure',
      message: a.message ?? '',
      title: a.title ?? null,
      raw_details: a.raw_details ?? null,
    })),
    logTail: tail,
    url: run.url ?? null,
  };
}

/**
 * A failed check on a pull request's head: a fix of that commit, answered with a comment on the
 * pull request and a draft pull request into its branch. Never on Kodah's own branches (a fix of
 * a fix of a fix…), never for forks unless the operator allows it (and then as a comment only,
 * since Kodah cannot push there), at most `ciAttempts` times per head commit and check, and not
 * when the repository's `.github/kodah.yml` says `ci: false`.
 */
export async function handleCheckFailure(ctx: RepoEventContext, event: string, raw: unknown): Promise<void> {
  const { deps, repo } = ctx;
  if (deps.settings.ciAttempts === 0) return;
  const failure = readFailure(event, raw);
  if (!failure) return;
  const { repository, headSha } = failure;
  const log = ctx.log.child({ event, sha: headSha.slice(0, 12) });
  if (isKodahBranch(failure.headBranch)) return log.info('failure on a Kodah branch; not fixing a fix');
  const { octokit } = ctx;
  let pr = failure.pullRequests.find((p) => p.head.sha === headSha) ?? failure.pullRequests[0];
  let fromFork = failure.fromFork || (pr ? pr.head.repo?.id !== undefined && pr.head.repo.id !== repository.id : false);
  if (!pr && deps.settings.ciForks) {
    // GitHub lists no pull request for a fork's head: ask which pull requests hold the commit.
    const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ ...repo, commit_sha: headSha });
    const open = data.find((p) => p.state === 'open' && p.head.sha === headSha);
    if (open) {
      pr = {
        number: open.number,
        head: { ref: open.head.ref, sha: open.head.sha, repo: open.head.repo ? { id: open.head.repo.id } : null },
        base: { ref: open.base.ref, repo: { id: repository.id } },
      };
      fromFork = open.head.repo?.id !== repository.id;
    }
  }
  if (!pr) return log.info('no pull request of this repository has the failing commit as its head; ignored');
  if (isKodahBranch(pr.head.ref)) return log.info('failure on a Kodah branch; not fixing a fix');
  if (fromFork && !deps.settings.ciForks) return log.info({ pr: pr.number }, 'failure on a fork; ignored (KODAH_GITHUB_CI_FORKS is off)');
  const accountId = await coveringAccount(deps.db, ctx.installationId, repository);
  if (!accountId) return log.info('installation suspended or deleted; ignored');
  const settings = await readRepoSettingsAt(octokit, repo, headSha);
  if (settings.ci === false) return log.info('ci: false in .github/kodah.yml; ignored');

  const runs = await failure.runs(octokit, repo);
  if (runs.length === 0) return;
  const taskId = taskIdFor(ctx.delivery);
  const claimed = new Set(
    await claimChecks(deps.db, repository.id, headSha, [...new Set(runs.map((r) => r.name))], taskId, deps.settings.ciAttempts),
  );
  const mine = runs.filter((r) => claimed.has(r.name));
  if (mine.length === 0) return log.info('these checks already had their fix attempts at this commit');

  const { data: pull } = await octokit.rest.pulls.get({ ...repo, pull_number: pr.number });
  const checks = await Promise.all(mine.map((r) => details(octokit, repo, r)));
  const description = buildCheckDescription({
    repository: repository.full_name,
    headSha,
    headBranch: pr.head.ref,
    pullRequest: { number: pr.number, title: pull.title },
    checks,
  });
  const names = mine.map((r) => `\`${r.name}\``).join(', ');
  await startTask(
    ctx,
    {
      id: taskId,
      repositoryId: repository.id,
      kind: 'check',
      title: `${mine.length === 1 ? mine[0]!.name : `${mine.length} checks`} failing on ${pr.head.ref}`,
      issueNumber: pr.number,
      originIssue: null,
      baseRef: pr.head.ref,
      headSha,
      // A fork's branch is not ours to push to: the diff goes into the comment.
      delivery: fromFork ? 'comment' : 'pull_request',
      trigger: `the failed check${mine.length === 1 ? '' : 's'} ${names} on ${headSha.slice(0, 7)}`,
    },
    { accountId, description, ref: headSha },
  );
}
