import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { searchAttributes } from '../code-index/search-request.js';
import { KodahError } from '../lib/errors.js';
import { type CodeIndexBackend, type CodeSnippet, codeSnippet, repositorySummary, resolveRepository } from './code-index-backend.js';

// The REST request's own pieces, so both surfaces validate alike; described here for the model.
const fields = searchAttributes.shape;
const filters = fields.filters.unwrap().unwrap().shape;
const searchInput = {
  keywords: fields.keywords.describe('words to look for, e.g. ["calculate_total", "discount"]'),
  code: fields.code.describe('a piece of code to find similar code to'),
  text: fields.text.describe('a description in prose of the code you are looking for'),
  limit: fields.limit.describe('how many snippets to return (1-100, default 10)'),
  filters: z
    .object({
      languages: filters.languages.describe('e.g. ["python", "ts"]'),
      authors: filters.authors.describe('commit author names or emails'),
      start_date: filters.start_date.describe('keep files changed on or after this date (ISO 8601)'),
      end_date: filters.end_date.describe('keep files that existed by this date (ISO 8601)'),
      sources: filters.sources.describe('repository URLs or ids'),
      file_patterns: filters.file_patterns.describe(
        'globs over the path, e.g. ["src/**/*.ts"]; a pattern without "/" matches the file name',
      ),
    })
    .nullish()
    .describe('narrow the search; every filter given must match'),
};

/** Where tool failures that are not the caller's are logged: a pino logger or a request's. */
export interface ToolLog {
  error(obj: object, msg: string): void;
}

/** What a failed tool call tells the caller: our errors say what to fix; anything else stays in the log. */
function toolError(err: unknown, log: ToolLog): CallToolResult {
  if (err instanceof KodahError && err.code !== 'internal') return { isError: true, content: [{ type: 'text', text: err.message }] };
  log.error({ err }, 'MCP tool failed');
  return { isError: true, content: [{ type: 'text', text: 'Internal error; the Kodah log has the details' }] };
}

function guarded<A>(log: ToolLog, fn: (args: A) => Promise<CallToolResult>): (args: A) => Promise<CallToolResult> {
  return async (args) => {
    try {
      return await fn(args);
    } catch (err) {
      return toolError(err, log);
    }
  };
}

/** A snippet as a model reads it: where it is, then the code. */
function snippetText(s: CodeSnippet, i: number): string {
  const fence = s.content.includes('```') ? '````' : '```';
  return [
    `${i + 1}. ${s.path}:${s.start_line}-${s.end_line}`,
    `repository: ${s.repository} (commit ${s.commit.slice(0, 12)})`,
    [`language: ${s.language}`, `${s.kind} ${s.name}`.trim(), `score: ${s.score.toFixed(4)}`].filter(Boolean).join(', '),
    `${fence}${s.language}`,
    s.content.replace(/\n$/, ''),
    fence,
  ].join('\n');
}

/** The code index as an MCP server: search_code, get_file, list_repositories over `backend`. */
export function createCodeIndexServer(backend: CodeIndexBackend, log: ToolLog): McpServer {
  const server = new McpServer({ name: 'kodah', version: '1' });

  server.registerTool(
    'search_code',
    {
      title: 'Search code',
      description:
        'Ranked code snippets (functions, classes, windows of lines) from the indexed repositories. ' +
        'Give keywords, code or text (at least one), and optionally filters.',
      inputSchema: searchInput,
      outputSchema: { results: z.array(codeSnippet) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    guarded(log, async (args) => {
      if (!args.keywords?.length && !args.code?.trim() && !args.text?.trim()) {
        throw new KodahError('invalid_input', 'give keywords, code or text to search for', { kind: 'input' });
      }
      const results = await backend.search(args);
      const text = results.length ? results.map(snippetText).join('\n\n') : 'No snippets matched.';
      return { content: [{ type: 'text', text }], structuredContent: { results } };
    }),
  );

  server.registerTool(
    'get_file',
    {
      title: 'Get file',
      description: 'The full text of a file of an indexed repository, at its indexed commit unless a commit is given.',
      inputSchema: {
        repository: z.string().min(1).max(2048).describe('repository id or URL, as list_repositories shows it'),
        path: z.string().min(1).max(4096).describe('path of the file in the repository, e.g. "src/app.ts"'),
        commit: z
          .string()
          .regex(/^[0-9a-fA-F]{4,40}$/, 'a commit sha (4 to 40 hex digits)')
          .optional()
          .describe('a scanned commit; default: the indexed commit'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    guarded(log, async ({ repository, path, commit }) => {
      const repo = resolveRepository(await backend.listRepositories(), repository);
      const at = commit ?? repo.indexed_commit;
      if (!at)
        throw new KodahError('not_found', `Repository ${repository} has not been indexed yet; try again when its index has finished`, {
          kind: 'input',
        });
      const content = await backend.getFile(repo.id, at, path.replace(/^\.?\//, ''));
      return { content: [{ type: 'text', text: content }] };
    }),
  );

  server.registerTool(
    'list_repositories',
    {
      title: 'List repositories',
      description: 'The repositories in the code index: id, URL, default branch and the indexed commit that search reads.',
      outputSchema: { repositories: z.array(repositorySummary) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    guarded(log, async () => {
      const repositories = await backend.listRepositories();
      const text = repositories.length
        ? repositories
            .map((r) => `${r.id}  ${r.url}  branch: ${r.default_branch ?? '-'}  indexed: ${r.indexed_commit ?? 'not yet'}`)
            .join('\n')
        : 'No repositories yet: add one with POST /api/v1/repositories.';
      return { content: [{ type: 'text', text }], structuredContent: { repositories } };
    }),
  );

  return server;
}
