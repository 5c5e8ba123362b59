/**
 * Where tokens for private repositories come from, per account. The configured per-host tokens
 * are the first implementation; GitHub App installation tokens are the second.
 */
export interface GitCredentials {
  tokenFor(repoUrl: string, accountId: string): Promise<string | null>;
}

/**
 * Whether an account may read with the operator's tokens. Asked at every use and not cached, so
 * an account the operator unmarks gets no token from the next clone, fetch or check on.
 */
export type OperatorTokenPolicy = (accountId: string) => Promise<boolean>;

/**
 * The operator's tokens from KODAH_GIT_TOKENS, for the accounts `mayUse` allows only (the server
 * asks the account's mark in the database; the operator's own CLI commands always may). To any
 * other account a private repository on those hosts is exactly what it is without a token: not
 * found.
 */
export function staticCredentials(tokensByHost: Readonly<Record<string, string>>, mayUse: OperatorTokenPolicy): GitCredentials {
  return {
    async tokenFor(repoUrl, accountId) {
      const url = new URL(repoUrl);
      const token = tokensByHost[url.host.toLowerCase()] ?? tokensByHost[url.hostname.toLowerCase()];
      // The host first: a repository no token covers costs no question to the database.
      if (!token) return null;
      return (await mayUse(accountId)) ? token : null;
    },
  };
}
