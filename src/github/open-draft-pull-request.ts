import type { Octokit } from './github-api.js';
import type { RepoName } from './repo-access.js';

/**
 * The open pull request from `branch` into `base`, or a new draft one: a retried delivery finds
 * the one it opened the first time. `title` and `body` are asked for only when one is opened.
 */
export async function findOrOpenDraftPullRequest(
  octokit: Octokit,
  repo: RepoName,
  pr: { branch: string; base: string; title: () => string; body: () => string },
): Promise<{ number: number; url: string }> {
  const find = async () => {
    const { data } = await octokit.rest.pulls.list({
      ...repo,
      head: `${repo.owner}:${pr.branch}`,
      base: pr.base,
      state: 'open',
      per_page: 1,
    });
    return data[0] ? { number: data[0].number, url: data[0].html_url } : null;
  };
  const existing = await find();
  if (existing) return existing;
  try {
    const { data } = await octokit.rest.pulls.create({
      ...repo,
      head: pr.branch,
      base: pr.base,
      draft: true,
      title: pr.title(),
      body: pr.body(),
    });
    return { number: data.number, url: data.html_url };
  } catch (err) {
    // Opened by a concurrent or earlier run between our look and our create.
    if ((err as { status?: number }).status === 422) {
      const again = await find();
      if (again) return again;
    }
    throw err;
  }
}
