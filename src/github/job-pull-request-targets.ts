import type { Config } from '../config.js';
import type { Queryable } from '../db/database.js';
import type { PullRequestTargets } from '../jobs/submit-rest-job.js';
import { KodahError } from '../lib/errors.js';
import { findCoveredRepository } from './installations.js';

function refused(message: string): KodahError {
  return new KodahError('invalid_input', `deliver: ${message}`, { kind: 'input' });
}

/** `owner/name` of a repository URL on the App's GitHub (`${webUrl}/owner/name[.git]`), else null. */
export function fullNameOn(webUrl: string, repoUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(repoUrl);
  } catch {
    return null;
  }
  if (url.origin.toLowerCase() !== new URL(webUrl).origin.toLowerCase()) return null;
  const parts = url.pathname
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .slice(1);
  return parts.length === 2 && parts.every(Boolean) ? `${parts[0]}/${parts[1]}` : null;
}

/**
 * Which installation of the App a REST job's pull request goes through: one the account owns (its
 * installation's owner account) that covers the repository and is neither deleted nor suspended.
 * Anything else is a 422 that says what is missing; another account's installation is never used.
 */
export function jobPullRequestTargets(db: Queryable, settings: Pick<NonNullable<Config['github']>, 'webUrl'>): PullRequestTargets {
  return {
    async find(accountId, repoUrl) {
      const fullName = fullNameOn(settings.webUrl, repoUrl);
      if (!fullName) throw refused(`"pull_request" works for repositories on ${settings.webUrl} (${repoUrl} is not one)`);
      const covered = await findCoveredRepository(db, fullName, accountId);
      if (!covered) {
        throw refused(
          `"pull_request" needs the Kodah GitHub App installed on ${fullName} by this account's GitHub owner; install it there, or leave deliver out to get the diff only`,
        );
      }
      return { installationId: covered.installationId, repositoryId: covered.repositoryId, fullName: covered.fullName };
    },
  };
}
