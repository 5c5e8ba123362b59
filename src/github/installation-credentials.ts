import type { Database } from '../db/database.js';
import type { GitCredentials } from '../git/credentials.js';
import { gitHubFullName } from '../git/github-full-name.js';
import type { GitHubApi } from './github-api.js';
import { findCoveredRepository } from './installations.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Tokens from the GitHub App: a repository the account's own installation covers is read with an
 * installation token scoped to that one repository. Another account's installation is never used,
 * so an API key cannot reach a private repository its account did not install the App on.
 */
export function installationCredentials(db: Database, api: GitHubApi, webUrl: string): GitCredentials {
  return {
    async tokenFor(repoUrl, accountId) {
      const fullName = gitHubFullName(repoUrl, webUrl);
      if (!fullName || !UUID.test(accountId)) return null;
      const covered = await findCoveredRepository(db, fullName, accountId);
      return covered ? api.repositoryToken(covered.installationId, covered.repositoryId, 'read') : null;
    },
  };
}

/** The first source that has a token for the repository. */
export function firstCredentials(...sources: GitCredentials[]): GitCredentials {
  return {
    async tokenFor(repoUrl, accountId) {
      for (const source of sources) {
        const token = await source.tokenFor(repoUrl, accountId);
        if (token) return token;
      }
      return null;
    },
  };
}
