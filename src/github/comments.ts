import type { Octokit } from './github-api.js';
import type { RepoName } from './repo-access.js';
import { hasMarker } from './comment-marker.js';

/**
 * The App's comment on an issue or pull request that carries `key`, created with `body` when there
 * is none yet: a retried job edits the comment it made instead of adding a second. Only the App's
 * own comments count, so a user who pastes the marker cannot have Kodah adopt theirs.
 */
export async function findOrCreateComment(
  octokit: Octokit,
  repo: RepoName,
  issueNumber: number,
  key: string,
  body: string,
  botLogin: string,
): Promise<number> {
  const existing = await findComment(octokit, repo, issueNumber, key, botLogin);
  if (existing) return existing;
  const { data } = await octokit.rest.issues.createComment({ ...repo, issue_number: issueNumber, body });
  return data.id;
}

/** The App's own comment that carries `key`, if there is one. */
async function findComment(octokit: Octokit, repo: RepoName, issueNumber: number, key: string, botLogin: string): Promise<number | null> {
  for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, {
    ...repo,
    issue_number: issueNumber,
    per_page: 100,
  })) {
    const mine = page.data.find((c) => c.user?.login === botLogin && hasMarker(c.body ?? '', key));
    if (mine) return mine.id;
  }
  return null;
}

export async function editComment(octokit: Octokit, repo: RepoName, commentId: number, body: string): Promise<void> {
  await octokit.rest.issues.updateComment({ ...repo, comment_id: commentId, body });
}

/** What a 👀 can go on: an issue (or pull request), a comment on one, or an inline review comment. */
export type ReactionTarget = { issue: number } | { commentId: number } | { reviewCommentId: number };

/** The 👀 reaction on an issue or a comment; GitHub keeps one per user and content, so repeating it is harmless. */
export async function reactEyes(octokit: Octokit, repo: RepoName, target: ReactionTarget): Promise<void> {
  if ('issue' in target) await octokit.rest.reactions.createForIssue({ ...repo, issue_number: target.issue, content: 'eyes' });
  else if ('commentId' in target)
    await octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: target.commentId, content: 'eyes' });
  else await octokit.rest.reactions.createForPullRequestReviewComment({ ...repo, comment_id: target.reviewCommentId, content: 'eyes' });
}
