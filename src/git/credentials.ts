/**
 * Where tokens for private repositories come from, per account. The configured per-host tokens
 * are the first implementation; GitHub App installation tokens are the second.
 */
export interface GitCredentials {
  tokenFor(repoUrl: string, accountId: string): Promise<string | null>;
}

/**
 * The operator's tokens from KODAH_GIT_TOKENS. They serve every account, so they suit a
 * single-tenant deployment: any account can then reach what these tokens can read.
 */
export function staticCredentials(tokensByHost: Readonly<Record<string, string>>): GitCredentials {
  return {
    async tokenFor(repoUrl) {
      const url = new URL(repoUrl);
      return tokensByHost[url.host.toLowerCase()] ?? tokensByHost[url.hostname.toLowerCase()] ?? null;
    },
  };
}
