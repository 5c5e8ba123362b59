import { z } from 'zod';
import { enqueueIndex } from '../code-index/index-queue.js';
import { sanitizeRemoteUri } from '../code-index/repositories.js';
import type { RepoEventContext } from './event-context.js';
import { cloneUrl } from './github-deps.js';

export const pushPayload = z.object({
  ref: z.string(),
  deleted: z.boolean().optional(),
  repository: z.object({ full_name: z.string(), default_branch: z.string() }),
});

/** Whether a push moved the repository's default branch (the only push that re-indexes it). */
export function pushesDefaultBranch(raw: unknown): boolean {
  const parsed = pushPayload.safeParse(raw);
  return parsed.success && !parsed.data.deleted && parsed.data.ref === `refs/heads/${parsed.data.repository.default_branch}`;
}

/**
 * push to the default branch of an installed repository: every account's index of it is synced
 * at once, rather than at the next sync interval. A run already waiting covers the push.
 */
export async function handlePush(ctx: RepoEventContext, raw: unknown): Promise<void> {
  if (!pushesDefaultBranch(raw)) return;
  const { repository } = pushPayload.parse(raw);
  const { db, boss, settings } = ctx.deps;
  const remote = sanitizeRemoteUri(cloneUrl(settings, repository.full_name));
  const indexed = await db.query<{ id: string; remote_uri: string }>(
    'SELECT id::text AS id, remote_uri FROM code_repositories WHERE sanitized_remote_uri = $1',
    [remote],
  );
  let queued = 0;
  for (const row of indexed.rows) if (await enqueueIndex(boss, row)) queued++;
  ctx.log.info({ repositories: indexed.rows.length, queued }, 'push to the default branch: index runs queued');
}
