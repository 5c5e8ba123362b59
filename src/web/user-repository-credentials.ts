import type { GitCredentials } from '../git/credentials.js';
import { gitHubFullName } from '../git/github-full-name.js';
import type { UserInstallations } from './user-installations.js';

/** Mints a token of one installation that reads one repository (the GitHub App's, wired in app.ts). */
export type RepositoryTokenMinter = (installationId: number, repositoryId: number) => Promise<string>;

/**
 * Tokens for the private repositories a signed-in user reaches through an installation of the App:
 * GitHub is asked with the user's own token which installations and repositories those are (cached
 * briefly), and the clone gets that installation's token, scoped to the one repository. A public
 * repository needs none; any other repository is what it is without a token: not found.
 */
export function userRepositoryCredentials(reach: UserInstallations, webUrl: string, mint: RepositoryTokenMinter): GitCredentials {
  return {
    async tokenFor(repoUrl, accountId) {
      const fullName = gitHubFullName(repoUrl, webUrl);
      if (!fullName) return null;
      const repo = await reach.find(accountId, fullName);
      return repo?.private ? mint(repo.installationId, repo.repositoryId) : null;
    },
  };
}
