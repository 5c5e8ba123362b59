import type { CodeSearch, SearchHit } from '../code-index/code-search.js';
import { getRepository, listRepositories, type RepositoryRow } from '../code-index/repositories.js';
import type { Queryable } from '../db/database.js';
import { type SearchAttributes, toSearchQuery } from '../code-index/search-request.js';
import { KodahError } from '../lib/errors.js';
import type { CodeIndexBackend, CodeSnippet, RepositorySummary } from './code-index-backend.js';

const SHA = /^[0-9a-f]{4,40}$/i;

function snippetOf(hit: SearchHit): CodeSnippet {
  return {
    path: hit.path,
    start_line: hit.startLine,
    end_line: hit.endLine,
    repository: hit.sourceUri,
    commit: hit.commit,
    language: hit.language,
    name: hit.name,
    kind: hit.kind,
    score: hit.score,
    content: hit.content,
  };
}

function summaryOf(r: RepositoryRow): RepositorySummary {
  return { id: String(r.id), url: r.remote_uri, default_branch: r.default_branch, indexed_commit: r.indexed_commit };
}

/** The code index of one account, read in this process: the backend of the /mcp route. */
export function localBackend(db: Queryable, search: CodeSearch, accountId: string): CodeIndexBackend {
  return {
    search: async (attributes: SearchAttributes) => (await search.search(accountId, toSearchQuery(attributes))).map(snippetOf),
    listRepositories: async () => (await listRepositories(db, accountId)).map(summaryOf),
    async getFile(repositoryId, commit, path) {
      const repository = await getRepository(db, accountId, repositoryId);
      const rows = SHA.test(commit)
        ? (
            await db.query<{ commit_sha: string; is_binary: boolean | null; content: string | null }>(
              `SELECT f.commit_sha, b.is_binary, b.content FROM code_files f LEFT JOIN code_blobs b ON b.sha = f.blob_sha
              WHERE f.repository_id = $1 AND f.commit_sha LIKE $2 AND f.path = $3 ORDER BY f.commit_sha LIMIT 2`,
              [repository.id, `${commit.toLowerCase()}%`, path],
            )
          ).rows
        : [];
      if (rows.length > 1)
        throw new KodahError('invalid_input', `Commit ${commit} is ambiguous in repository ${repositoryId}; give more of its sha`, {
          kind: 'input',
        });
      const file = rows[0];
      // Only scanned commits (the indexed one and those indexed before) have their files in the index.
      if (!file)
        throw new KodahError(
          'not_found',
          `File ${path} not found at commit ${commit} of repository ${repositoryId} (only indexed commits have files)`,
          { kind: 'input' },
        );
      if (file.is_binary) throw new KodahError('invalid_input', `File ${path} is binary; get_file returns text only`, { kind: 'input' });
      if (file.content === null)
        throw new KodahError('not_found', `File ${path} is over the index's size limit, so its content is not stored`, { kind: 'input' });
      return file.content;
    },
  };
}
