import path from 'node:path';
import { z } from 'zod';
import type { SearchHit } from './code-search.js';
import type { StepRow } from './index-steps.js';
import type { RepositoryRow } from './repositories.js';

/**
 * JSON:API documents of the code index, as `spec/kodit-api.md` names them: the wire format of
 * the Kodit API, written by its HTTP routes and read back by the MCP server's remote backend.
 */
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

const resource = <T extends z.ZodTypeAny>(type: string, attributes: T) => z.object({ type: z.literal(type), id: z.string(), attributes });

export const repositoryData = resource(
  'repository',
  z.object({
    remote_uri: z.string(),
    sanitized_remote_uri: z.string(),
    cloned_path: z.string(),
    created_at: z.string(),
    updated_at: z.string().nullable(),
    default_branch: z.string(),
    total_commits: z.number().int(),
    total_branches: z.number().int(),
    indexed_commit_sha: z.string().nullable(),
  }),
);

/**
 * Kodit's schema has strings where Kodah knows nothing yet (no clone, no branch, a root commit's
 * parent): those are empty strings, not null, or Kodit's generated clients reject the document.
 */
export function repositoryView(r: RepositoryRow): z.infer<typeof repositoryData> {
  return {
    type: 'repository',
    id: String(r.id),
    attributes: {
      remote_uri: r.remote_uri,
      sanitized_remote_uri: r.sanitized_remote_uri,
      // The mirror's place on the worker's disk is ours to know, not the caller's.
      cloned_path: r.cloned_path ? `mirrors/${path.basename(r.cloned_path)}` : '',
      created_at: iso(r.created_at)!,
      updated_at: iso(r.updated_at),
      default_branch: r.default_branch ?? '',
      total_commits: r.total_commits,
      total_branches: r.total_branches,
      indexed_commit_sha: r.indexed_commit,
    },
  };
}

export const indexData = resource('index', z.object({ created_at: z.string(), updated_at: z.string(), uri: z.string() }));

export function indexView(r: RepositoryRow): z.infer<typeof indexData> {
  return {
    type: 'index',
    id: String(r.id),
    attributes: { created_at: iso(r.created_at)!, updated_at: iso(r.updated_at ?? r.created_at)!, uri: r.remote_uri },
  };
}

export const commitData = resource(
  'commit',
  z.object({
    commit_sha: z.string(),
    date: z.string(),
    message: z.string(),
    parent_commit_sha: z.string(),
    author: z.string(),
  }),
);

export interface CommitRow {
  sha: string;
  parent_sha: string | null;
  author: string;
  date: Date;
  message: string;
}

export function commitView(c: CommitRow): z.infer<typeof commitData> {
  return {
    type: 'commit',
    id: c.sha,
    attributes: { commit_sha: c.sha, date: iso(c.date)!, message: c.message, parent_commit_sha: c.parent_sha ?? '', author: c.author },
  };
}

export const fileData = resource(
  'file',
  z.object({
    blob_sha: z.string(),
    path: z.string(),
    mime_type: z.string(),
    size: z.number().int(),
    extension: z.string(),
    content: z.string().nullable().optional(),
  }),
);

export const tagData = resource('tag', z.object({ name: z.string(), target_commit_sha: z.string(), is_version_tag: z.boolean() }));

/** v1.2.3, 1.2, release-2.0.1, sympy-1.13.0rc1: a name that carries a version number. */
const VERSION = /^(?:[A-Za-z][\w.-]*?[-_/])?v?\d+(?:\.\d+)+(?:[-.+]?[0-9A-Za-z.]+)?$|^v\d+$/;

export function tagView(t: { name: string; target_sha: string }): z.infer<typeof tagData> {
  return { type: 'tag', id: t.name, attributes: { name: t.name, target_commit_sha: t.target_sha, is_version_tag: VERSION.test(t.name) } };
}

export const taskStatusData = resource(
  'task_status',
  z.object({
    step: z.string(),
    state: z.string(),
    progress: z.number(),
    total: z.number().int(),
    current: z.number().int(),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
    error: z.string(),
    message: z.string(),
  }),
);

export function taskStatusView(s: StepRow): z.infer<typeof taskStatusData> {
  const progress =
    s.state === 'completed' || s.state === 'skipped' ? 100 : s.total > 0 ? Math.min(100, Math.round((s.current / s.total) * 1000) / 10) : 0;
  return {
    type: 'task_status',
    id: `${s.repository_id}-${s.step}`,
    attributes: {
      step: s.step,
      state: s.state,
      progress,
      total: s.total,
      current: s.current,
      created_at: iso(s.created_at),
      updated_at: iso(s.updated_at),
      error: s.error,
      message: s.message,
    },
  };
}

export const taskData = resource(
  'task',
  z.object({
    type: z.string(),
    priority: z.number().int(),
    payload: z.record(z.string(), z.unknown()),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
    state: z.string(),
  }),
);

export const snippetData = z.object({
  type: z.literal('snippet'),
  id: z.number().int(),
  attributes: z.object({
    content: z.string(),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
    original_scores: z.array(z.number()),
    source_uri: z.string(),
    relative_path: z.string(),
    language: z.string(),
    authors: z.array(z.string()),
    summary: z.string(),
    commit_sha: z.string(),
    start_line: z.number().int(),
    end_line: z.number().int(),
    name: z.string(),
    kind: z.string(),
    score: z.number(),
  }),
});

export function snippetView(hit: SearchHit): z.infer<typeof snippetData> {
  return {
    type: 'snippet',
    id: hit.snippetId,
    attributes: {
      content: hit.content,
      created_at: hit.createdAt,
      updated_at: hit.updatedAt,
      original_scores: hit.scores,
      source_uri: hit.sourceUri,
      relative_path: hit.path,
      language: hit.language,
      authors: hit.authors,
      summary: hit.summary,
      commit_sha: hit.commit,
      start_line: hit.startLine,
      end_line: hit.endLine,
      name: hit.name,
      kind: hit.kind,
      score: hit.score,
    },
  };
}
