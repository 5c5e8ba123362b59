import { z } from 'zod';

/**
 * The parts of GitHub's webhook payloads Kodah reads, checked at the boundary: a payload without
 * them (a test ping, a changed schema) is logged and dropped rather than half-handled.
 */
const user = z.object({ login: z.string(), id: z.number(), type: z.string() });
const fullName = z.string().regex(/^[\w.-]+\/[\w.-]+$/);
const repository = z.object({
  id: z.number(),
  full_name: fullName,
  private: z.boolean(),
  default_branch: z.string().optional(),
  owner: user,
});
const installationRef = z.object({ id: z.number() });
const repoRef = z.object({ id: z.number(), full_name: z.string(), private: z.boolean() });

/** Which installation an event came through: enough to build its context before its handler reads the rest. */
export const installationTarget = z.object({ installation: installationRef });
/** Which installation and repository an event is about. */
export const repositoryTarget = z.object({ installation: installationRef, repository: z.object({ full_name: fullName }) });

export const installationPayload = z.object({
  action: z.string(),
  installation: z.object({ id: z.number(), account: user, repository_selection: z.string().nullish() }),
  repositories: z.array(repoRef).nullish(),
});

export const installationRepositoriesPayload = z.object({
  action: z.enum(['added', 'removed']),
  installation: z.object({ id: z.number(), account: user, repository_selection: z.string().nullish() }),
  repositories_added: z.array(repoRef).default([]),
  repositories_removed: z.array(z.object({ id: z.number(), full_name: z.string() })).default([]),
});

const issue = z.object({
  number: z.number(),
  title: z.string(),
  body: z.string().nullish(),
  pull_request: z.unknown().optional(),
});

export const issueLabeledPayload = z.object({
  action: z.literal('labeled'),
  label: z.object({ name: z.string() }),
  issue,
  repository,
  sender: user,
  installation: installationRef,
});

export const issueCommentPayload = z.object({
  action: z.literal('created'),
  comment: z.object({ id: z.number(), body: z.string(), user }),
  issue,
  repository,
  sender: user,
  installation: installationRef,
});

const prRef = z.object({
  number: z.number(),
  head: z.object({ ref: z.string(), sha: z.string(), repo: z.object({ id: z.number() }).nullish() }),
  base: z.object({ ref: z.string(), repo: z.object({ id: z.number() }).nullish() }),
});

export const checkRunPayload = z.object({
  action: z.literal('completed'),
  check_run: z.object({
    id: z.number(),
    name: z.string(),
    head_sha: z.string(),
    conclusion: z.string().nullable(),
    html_url: z.string().nullish(),
    output: z.object({ title: z.string().nullish(), summary: z.string().nullish(), text: z.string().nullish() }).partial().nullish(),
    app: z.object({ slug: z.string().nullish() }).nullish(),
    check_suite: z.object({ head_branch: z.string().nullish() }).partial().nullish(),
    pull_requests: z.array(prRef).default([]),
  }),
  repository,
  installation: installationRef,
});

export const checkSuitePayload = z.object({
  action: z.literal('completed'),
  check_suite: z.object({
    id: z.number(),
    head_sha: z.string(),
    head_branch: z.string().nullish(),
    conclusion: z.string().nullable(),
    pull_requests: z.array(prRef).default([]),
  }),
  repository,
  installation: installationRef,
});

export const workflowRunPayload = z.object({
  action: z.literal('completed'),
  workflow_run: z.object({
    id: z.number(),
    name: z.string().nullish(),
    head_sha: z.string(),
    head_branch: z.string().nullish(),
    conclusion: z.string().nullable(),
    head_repository: z.object({ id: z.number() }).nullish(),
    pull_requests: z.array(prRef).default([]),
  }),
  repository,
  installation: installationRef,
});

/** The pull request a review is about: which one, and whether its head is still where Kodah pushes. */
const reviewedPullRequest = z.object({
  number: z.number(),
  state: z.string(),
  head: z.object({ ref: z.string() }),
});

/**
 * pull_request_review.submitted. Only the review's id and state are read here: its body and
 * inline comments are fetched whole (handle-review.ts), whichever event of the review comes first.
 */
export const pullRequestReviewPayload = z.object({
  action: z.literal('submitted'),
  review: z.object({ id: z.number(), state: z.string() }),
  pull_request: reviewedPullRequest,
  repository,
  sender: user,
  installation: installationRef,
});

/** pull_request_review_comment.created: an inline comment, always part of a review (its id). */
export const pullRequestReviewCommentPayload = z.object({
  action: z.literal('created'),
  comment: z.object({ id: z.number(), pull_request_review_id: z.number() }),
  pull_request: reviewedPullRequest,
  repository,
  sender: user,
  installation: installationRef,
});

export type Repository = z.infer<typeof repository>;
export type PullRequestRef = z.infer<typeof prRef>;
