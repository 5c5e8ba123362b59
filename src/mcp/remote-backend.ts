import { z } from 'zod';
import { fileData, repositoryData, snippetData } from '../code-index/kodit-resources.js';
import type { SearchAttributes } from '../code-index/search-request.js';
import { type ErrorCode, KodahError } from '../lib/errors.js';
import type { CodeIndexBackend, CodeSnippet } from './code-index-backend.js';

export interface RemoteBackendOptions {
  /** The base URL of a running Kodah, e.g. http://127.0.0.1:3000. */
  url: string;
  apiKey: string;
  timeoutMs?: number;
}

/**
 * The REST status back as an error code. Errors of the server (5xx), an unreachable server and a
 * reply that is not Kodah's all come back as `repository_unavailable`, the nearest code for "the
 * index cannot be read now": their messages are safe to show (the server already hid its internals).
 */
function codeFor(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 402) return 'payment_required';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'at_capacity';
  if (status === 504) return 'timeout';
  return status < 500 ? 'invalid_input' : 'repository_unavailable';
}

const errorBody = z.object({ detail: z.string() });

/** The code index of the key's account, read through the REST API of a running Kodah: the backend of `kodah mcp`. */
export function remoteBackend(options: RemoteBackendOptions): CodeIndexBackend {
  const base = options.url.replace(/\/+$/, '');

  async function call<T extends z.ZodTypeAny>(method: string, path: string, schema: T, body?: unknown): Promise<z.infer<T>> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          'x-api-key': options.apiKey,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      });
    } catch (err) {
      const why =
        err instanceof Error && err.name === 'TimeoutError'
          ? 'it did not answer in time'
          : `${(err as Error).cause ?? (err as Error).message}`;
      throw new KodahError('repository_unavailable', `Kodah at ${base} could not be reached (${why}); is it running, and is --url right?`, {
        cause: err,
      });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const detail = errorBody.safeParse(json);
      throw new KodahError(codeFor(res.status), detail.success ? detail.data.detail : `Kodah at ${base} answered HTTP ${res.status}`, {
        kind: res.status < 500 ? 'input' : 'system',
      });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new KodahError(
        'repository_unavailable',
        `${base}${path} did not answer as Kodah does; is --url the base URL of a Kodah server?`,
      );
    return parsed.data;
  }

  const repo = (id: string) => `/api/v1/repositories/${encodeURIComponent(id)}`;

  return {
    async search(attributes: SearchAttributes): Promise<CodeSnippet[]> {
      // Dates travel as ISO strings: JSON.stringify writes a Date that way.
      const { data } = await call('POST', '/api/v1/search', z.object({ data: z.array(snippetData) }), {
        data: { type: 'search', attributes },
      });
      return data.map(({ attributes: a }) => ({
        path: a.relative_path,
        start_line: a.start_line,
        end_line: a.end_line,
        repository: a.source_uri,
        commit: a.commit_sha,
        language: a.language,
        name: a.name,
        kind: a.kind,
        score: a.score,
        content: a.content,
      }));
    },

    async listRepositories() {
      const { data } = await call('GET', '/api/v1/repositories', z.object({ data: z.array(repositoryData) }));
      return data.map((r) => ({
        id: r.id,
        url: r.attributes.remote_uri,
        default_branch: r.attributes.default_branch || null,
        indexed_commit: r.attributes.indexed_commit_sha,
      }));
    },

    async getFile(repositoryId, commit, path) {
      const at = `${repo(repositoryId)}/commits/${encodeURIComponent(commit)}/files`;
      const { data: files } = await call('GET', at, z.object({ data: z.array(fileData) }));
      const file = files.find((f) => f.attributes.path === path);
      if (!file)
        throw new KodahError('not_found', `File ${path} not found at commit ${commit} of repository ${repositoryId}`, { kind: 'input' });
      const { data } = await call('GET', `${at}/${encodeURIComponent(file.attributes.blob_sha)}`, z.object({ data: fileData }));
      const content = data.attributes.content;
      if (content == null)
        throw new KodahError('invalid_input', `File ${path} is binary or over the index's size limit; get_file returns stored text only`, {
          kind: 'input',
        });
      return content;
    },
  };
}
