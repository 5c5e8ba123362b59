import { findOrCreateComment } from './comments.js';
import type { RepoEventContext } from './event-context.js';
import { coveringAccount } from './installations.js';
import { isKodahBranch } from './kodah-branch.js';
import { pullRequestReviewCommentPayload, pullRequestReviewPayload } from './payloads.js';
import { hasWriteAccess } from './repo-access.js';
import { buildReviewText, type ReviewComment } from './review-text.js';
import { startRevision } from './start-revision.js';
import { taskOfPullRequest } from './tasks.js';

/** The review states that ask for a revision; an approval does not, even with comments (nits). */
const ASKING = new Set(['changes_requested', 'commented']);

/**
 * pull_request_review.submitted and pull_request_review_comment.created on Kodah's own pull
 * request, from someone who can push: a revision, as `/kodah fix` there would start, told what the
 * review says. One review is one job: the intake queues only the first delivery of a review
 * (webhook-intake.ts), and this reads the whole review — its summary and every inline comment —
 * whichever delivery that was. Reviews of other pull requests, by readers or by bots start nothing.
 */
export async function handleReview(ctx: RepoEventContext, event: string, raw: unknown): Promise<void> {
  const { deps, octokit, repo } = ctx;
  const payload = event === 'pull_request_review' ? pullRequestReviewPayload.parse(raw) : pullRequestReviewCommentPayload.parse(raw);
  const reviewId = 'review' in payload ? payload.review.id : payload.comment.pull_request_review_id;
  const { pull_request: pr, repository, sender } = payload;
  const log = ctx.log.child({ pr: pr.number, review: reviewId });
  if (sender.type === 'Bot' || !isKodahBranch(pr.head.ref) || pr.state !== 'open') return;
  const own = await taskOfPullRequest(deps.db, repository.id, pr.number);
  if (!own) return log.info('review of a pull request Kodah did not open; ignored');
  const accountId = await coveringAccount(deps.db, ctx.installationId, repository);
  if (!accountId) return log.info('installation suspended or deleted; review ignored');
  if (!(await hasWriteAccess(octokit, repo, sender.login))) {
    return log.info({ sender: sender.login }, 'review from a user without write access; ignored');
  }

  const { data: review } = await octokit.rest.pulls.getReview({ ...repo, pull_number: pr.number, review_id: reviewId });
  if (!ASKING.has(review.state.toLowerCase())) return log.info({ state: review.state }, 'the review asks for nothing; ignored');
  const comments = await octokit.paginate(octokit.rest.pulls.listCommentsForReview, {
    ...repo,
    pull_number: pr.number,
    review_id: reviewId,
    per_page: 100,
  });
  const body = review.body?.trim() ?? '';
  if (!body && comments.length === 0 && review.state.toLowerCase() !== 'changes_requested') {
    return log.info('an empty review; ignored');
  }
  const inline: ReviewComment[] = comments.map((c) => ({
    path: c.path,
    line: c.line ?? null,
    startLine: c.start_line ?? null,
    diffHunk: c.diff_hunk ?? null,
    body: c.body,
  }));
  const author = review.user?.login ?? sender.login;
  await startRevision(ctx, {
    accountId,
    repositoryId: repository.id,
    own,
    prNumber: pr.number,
    trigger: `${body || inline.length !== 1 ? 'a review' : 'a review comment'} by @${author}`,
    request: buildReviewText({ author, state: review.state, body, comments: inline }),
    ...(comments[0] ? { reactTo: { reviewCommentId: comments[0].id } } : {}),
    async reply(text) {
      const key = `reply:review-${reviewId}`;
      await findOrCreateComment(octokit, repo, pr.number, key, text(key), await deps.api.botLogin());
    },
  });
}
