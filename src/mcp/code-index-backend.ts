import { z } from 'zod';
import { sanitizeRemoteUri } from '../code-index/repositories.js';
import type { SearchAttributes } from '../code-index/search-request.js';
import { KodahError } from '../lib/errors.js';

/** One search result as the MCP tools hand it out (also their structured output). */
export const codeSnippet = z.object({
  path: z.string(),
  start_line: z.number().int(),
  end_line: z.number().int(),
  repository: z.string().describe('the URL of the repository'),
  commit: z.string(),
  language: z.string(),
  name: z.string(),
  kind: z.string(),
  score: z.number(),
  content: z.string(),
});
export type CodeSnippet = z.infer<typeof codeSnippet>;

export const repositorySummary = z.object({
  id: z.string(),
  url: z.string(),
  default_branch: z.string().nullable(),
  indexed_commit: z.string().nullable().describe('the commit that search and get_file read; null until the first index finishes'),
});
export type RepositorySummary = z.infer<typeof repositorySummary>;

/**
 * What the MCP tools need of a code index, for one account. Two implementations: in-process
 * (the /mcp route, on the database) and over the REST API (`kodah mcp`, beside a running Kodah
 * that holds the embedded database). Failures are KodahErrors whose message the caller may read.
 */
export interface CodeIndexBackend {
  search(attributes: SearchAttributes): Promise<CodeSnippet[]>;
  listRepositories(): Promise<RepositorySummary[]>;
  /** The text of `path` at `commit` (a full sha or a unique prefix) of the account's repository. */
  getFile(repositoryId: string, commit: string, path: string): Promise<string>;
}

/** The repository a tool caller named by id or by URL (any spelling of it: ".git", trailing slash). */
export function resolveRepository(repositories: RepositorySummary[], ref: string): RepositorySummary {
  const wanted = ref.trim();
  let found: RepositorySummary | undefined;
  if (/^\d+$/.test(wanted)) {
    found = repositories.find((r) => r.id === wanted);
  } else {
    const sanitized = comparableUri(wanted);
    found = sanitized ? repositories.find((r) => comparableUri(r.url) === sanitized) : undefined;
  }
  if (!found)
    throw new KodahError('not_found', `Repository ${ref} not found; list_repositories shows the ones this key can read`, { kind: 'input' });
  return found;
}

function comparableUri(uri: string): string | null {
  try {
    return sanitizeRemoteUri(uri);
  } catch {
    return null;
  }
}
