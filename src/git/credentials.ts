/**
 * Where tokens for private repositories come from. The configured per-host tokens are the first
 * implementation; GitHub App installation tokens are the second.
 */
export interface GitCredentials {
  tokenFor(repoUrl: string): Promise<string | null>;
}

export function staticCredentials(tokensByHost: Readonly<Record<string, string>>): GitCredentials {
  return {
    async tokenFor(repoUrl) {
      const url = new URL(repoUrl);
      return tokensByHost[url.host.toLowerCase()] ?? tokensByHost[url.hostname.toLowerCase()] ?? null;
    },
  };
}
