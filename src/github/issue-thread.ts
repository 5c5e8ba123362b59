import type { Octokit } from './github-api.js';
import { buildIssueDescription } from './issue-description.js';
import type { RepoName } from './repo-access.js';

/** The issue's description for a job: title, body and comments as they are now (the snapshot). */
export async function describeIssue(
  octokit: Octokit,
  repo: RepoName,
  issue: { number: number; title: string; body?: string | null },
  extra?: string,
): Promise<string> {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...repo, issue_number: issue.number, per_page: 100 });
  return buildIssueDescription({
    number: issue.number,
    title: issue.title,
    body: issue.body ?? null,
    comments: comments.map((c) => ({ author: c.user?.login ?? 'ghost', body: c.body ?? '', isBot: c.user?.type === 'Bot' })),
    ...(extra ? { extra } : {}),
  });
}
