/**
 * `owner/name` of a repository URL on a GitHub host (`webUrl`: https://github.com, or a GitHub
 * Enterprise Server's address), or null for any other URL. Tokens from the GitHub App are only
 * ever looked up for what this returns, so a URL on another host never meets one.
 */
export function gitHubFullName(repoUrl: string, webUrl: string): string | null {
  let url: URL;
  let base: URL;
  try {
    url = new URL(repoUrl);
    base = new URL(webUrl);
  } catch {
    return null;
  }
  if (url.host.toLowerCase() !== base.host.toLowerCase()) return null;
  const prefix = base.pathname.replace(/\/+$/, '');
  if (!url.pathname.startsWith(`${prefix}/`)) return null;
  const match = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+?)(?:\.git)?\/?$/.exec(url.pathname.slice(prefix.length + 1));
  return match ? `${match[1]}/${match[2]}` : null;
}
