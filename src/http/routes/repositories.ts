import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CommitFile, CommitFiles } from '../../code-index/commit-files.js';
import { mimeTypeOf } from '../../code-index/mime-type.js';
import { addRepository, type CodeIndexDeps, removeRepository } from '../../code-index/manage-repositories.js';
import { getRepository, listRepositories } from '../../code-index/repositories.js';
import { KodahError } from '../../lib/errors.js';
import { requireApiKey } from '../auth.js';
import {
  commitData,
  type CommitRow,
  commitView,
  fileData,
  repositoryData,
  repositoryView,
  tagData,
  tagView,
} from '../../code-index/kodit-resources.js';
import { errorSchema } from '../error-schema.js';

const repoParams = z.object({ repo_id: z.string() });
const commitParams = repoParams.extend({ commit_sha: z.string() });
const SHA = /^[0-9a-f]{4,40}$/i;
const page = z.object({
  'page[number]': z.coerce.number().int().min(1).default(1),
  'page[size]': z.coerce.number().int().min(1).max(10_000).default(1000),
});
const errors = { 401: errorSchema, 404: errorSchema, 422: errorSchema };

const createRepositoryBody = z.object({
  data: z.object({
    type: z.literal('repository', { error: 'must be "repository"' }),
    attributes: z.object({ remote_uri: z.string({ error: 'required, the https URL of a git repository' }).min(1).max(2048) }),
  }),
});

export const repositoryRoutes: FastifyPluginAsyncZod<CodeIndexDeps & { commitFiles: CommitFiles }> = async (app, deps) => {
  const { db } = deps;
  app.addHook('onRequest', requireApiKey(db));

  app.get(
    '/api/v1/repositories',
    { schema: { summary: 'List repositories', response: { 200: z.object({ data: z.array(repositoryData) }), ...errors } } },
    async (request) => ({
      data: (await listRepositories(db, request.accountId)).map(repositoryView),
    }),
  );

  app.post(
    '/api/v1/repositories',
    {
      schema: {
        summary: 'Clone a repository and map it (in the background); asking again syncs it',
        body: createRepositoryBody,
        response: { 200: z.object({ data: repositoryData }), 201: z.object({ data: repositoryData }), ...errors },
      },
    },
    async (request, reply) => {
      const { repository, created } = await addRepository(deps, request.accountId, request.body.data.attributes.remote_uri, 'remote_uri');
      return reply.status(created ? 201 : 200).send({ data: repositoryView(repository) });
    },
  );

  app.get(
    '/api/v1/repositories/:repo_id',
    {
      schema: {
        summary: 'A repository with its branches and recent commits',
        params: repoParams,
        response: {
          200: z.object({
            data: repositoryData,
            branches: z.array(z.object({ name: z.string(), is_default: z.boolean(), commit_count: z.number().int() })),
            recent_commits: z.array(z.object({ sha: z.string(), message: z.string(), author: z.string(), timestamp: z.string() })),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const repository = await getRepository(db, request.accountId, request.params.repo_id);
      const branches = await db.query<{ name: string; is_default: boolean; commit_count: number }>(
        'SELECT name, is_default, commit_count FROM code_branches WHERE repository_id = $1 ORDER BY is_default DESC, name',
        [repository.id],
      );
      const commits = await db.query<CommitRow>('SELECT * FROM code_commits WHERE repository_id = $1 ORDER BY seq DESC LIMIT 10', [
        repository.id,
      ]);
      return {
        data: repositoryView(repository),
        branches: branches.rows,
        recent_commits: commits.rows.map((c) => ({
          sha: c.sha,
          message: c.message,
          author: c.author,
          timestamp: new Date(c.date).toISOString(),
        })),
      };
    },
  );

  app.delete(
    '/api/v1/repositories/:repo_id',
    {
      schema: { summary: 'Delete a repository, its mirror, rows and snippets', params: repoParams, response: { 204: z.null(), ...errors } },
    },
    async (request, reply) => {
      await removeRepository(deps, request.accountId, request.params.repo_id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/repositories/:repo_id/commits',
    {
      schema: {
        summary: 'Commits, newest first, a page at a time',
        params: repoParams,
        querystring: page,
        response: { 200: z.object({ data: z.array(commitData), links: z.object({ next: z.string().nullable() }) }), ...errors },
      },
    },
    async (request) => {
      const repository = await getRepository(db, request.accountId, request.params.repo_id);
      const size = request.query['page[size]'];
      const number = request.query['page[number]'];
      const rows = await db.query<CommitRow>('SELECT * FROM code_commits WHERE repository_id = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3', [
        repository.id,
        size + 1,
        (number - 1) * size,
      ]);
      const next =
        rows.rows.length > size ? `/api/v1/repositories/${repository.id}/commits?page[number]=${number + 1}&page[size]=${size}` : null;
      return { data: rows.rows.slice(0, size).map(commitView), links: { next } };
    },
  );

  async function commitOf(accountId: string, repoId: string, sha: string) {
    const repository = await getRepository(db, accountId, repoId);
    const row = SHA.test(sha)
      ? (
          await db.query<CommitRow>('SELECT * FROM code_commits WHERE repository_id = $1 AND sha LIKE $2 ORDER BY sha LIMIT 2', [
            repository.id,
            `${sha.toLowerCase()}%`,
          ])
        ).rows
      : [];
    if (row.length !== 1) throw new KodahError('not_found', `Commit ${sha} not found in repository ${repoId}`, { kind: 'input' });
    return { repository, commit: row[0]! };
  }

  app.get(
    '/api/v1/repositories/:repo_id/commits/:commit_sha',
    { schema: { summary: 'One commit', params: commitParams, response: { 200: z.object({ data: commitData }), ...errors } } },
    async (request) => ({
      data: commitView((await commitOf(request.accountId, request.params.repo_id, request.params.commit_sha)).commit),
    }),
  );

  const fileView = (f: CommitFile) => ({
    blob_sha: f.blob_sha,
    path: f.path,
    mime_type: mimeTypeOf(f.path, f.binary ?? false),
    size: f.size,
    extension: f.extension,
  });

  app.get(
    '/api/v1/repositories/:repo_id/commits/:commit_sha/files',
    {
      schema: {
        summary: 'The files of a commit',
        params: commitParams,
        response: { 200: z.object({ data: z.array(fileData) }), ...errors },
      },
    },
    async (request) => {
      const { repository, commit } = await commitOf(request.accountId, request.params.repo_id, request.params.commit_sha);
      const files = await deps.commitFiles.list(repository, commit.sha);
      return { data: files.map((f) => ({ type: 'file' as const, id: f.blob_sha, attributes: fileView(f) })) };
    },
  );

  app.get(
    '/api/v1/repositories/:repo_id/commits/:commit_sha/files/:blob_sha',
    {
      schema: {
        summary: 'One file of a commit, with its content',
        params: commitParams.extend({ blob_sha: z.string() }),
        response: { 200: z.object({ data: fileData }), ...errors },
      },
    },
    async (request) => {
      const { repository, commit } = await commitOf(request.accountId, request.params.repo_id, request.params.commit_sha);
      const blob = request.params.blob_sha.toLowerCase();
      const file = SHA.test(blob) ? await deps.commitFiles.read(repository, commit.sha, blob) : null;
      if (!file) throw new KodahError('not_found', `File ${request.params.blob_sha} not found in commit ${commit.sha}`, { kind: 'input' });
      return { data: { type: 'file' as const, id: file.blob_sha, attributes: { ...fileView(file), content: file.content } } };
    },
  );

  app.get(
    '/api/v1/repositories/:repo_id/tags',
    { schema: { summary: 'Tags', params: repoParams, response: { 200: z.object({ data: z.array(tagData) }), ...errors } } },
    async (request) => {
      const repository = await getRepository(db, request.accountId, request.params.repo_id);
      const rows = await db.query<{ name: string; target_sha: string }>(
        'SELECT name, target_sha FROM code_tags WHERE repository_id = $1 ORDER BY name',
        [repository.id],
      );
      return { data: rows.rows.map(tagView) };
    },
  );

  app.get(
    '/api/v1/repositories/:repo_id/tags/:tag_id',
    {
      schema: {
        summary: 'One tag',
        params: repoParams.extend({ tag_id: z.string() }),
        response: { 200: z.object({ data: tagData }), ...errors },
      },
    },
    async (request) => {
      const repository = await getRepository(db, request.accountId, request.params.repo_id);
      const row = (
        await db.query<{ name: string; target_sha: string }>(
          'SELECT name, target_sha FROM code_tags WHERE repository_id = $1 AND name = $2',
          [repository.id, request.params.tag_id],
        )
      ).rows[0];
      if (!row)
        throw new KodahError('not_found', `Tag ${request.params.tag_id} not found in repository ${repository.id}`, { kind: 'input' });
      return { data: tagView(row) };
    },
  );
};
