import { parseRepoSettings, type RepoSettings } from '../fix/repo-settings.js';
import type { Octokit } from './github-api.js';

// A type, not an interface: octokit's parameters want an object with an index signature.
export type RepoName = { owner: string; repo: string };

export function repoName(fullName: string): RepoName {
  const [owner = '', repo = ''] = fullName.split('/');
  return { owner, repo };
}

/** Roles that may start, revise and cancel fixes: the ones that can push to the repository. */
const WRITERS = new Set(['admin', 'maintain', 'write']);

/** Whether `login` may push to the repository (admin, maintain or write); an unknown user may not. */
export async function hasWriteAccess(octokit: Octokit, repo: RepoName, login: string): Promise<boolean> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: login });
    const role = (data as { role_name?: string }).role_name;
    return WRITERS.has(role ?? '') || data.permission === 'admin' || data.permission === 'write';
  } catch (err) {
    // GitHub answers 404 for a user who is not a collaborator at all.
    if ((err as { status?: number }).status === 404) return false;
    throw err;
  }
}

/** `.github/kodah.yml` at a ref, read through the API (no clone needed to decide whether to act). */
export async function readRepoSettingsAt(octokit: Octokit, repo: RepoName, ref: string): Promise<RepoSettings> {
  try {
    const { data } = await octokit.rest.repos.getContent({ ...repo, path: '.github/kodah.yml', ref });
    if (Array.isArray(data) || data.type !== 'file' || !('content' in data)) return parseRepoSettings(null);
    return parseRepoSettings(Buffer.from(data.content, 'base64').toString('utf8'));
  } catch (err) {
    if ((err as { status?: number }).status === 404) return parseRepoSettings(null);
    throw err;
  }
}
