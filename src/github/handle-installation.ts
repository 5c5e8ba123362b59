import { addRepository } from '../code-index/manage-repositories.js';
import type { InstallationContext } from './event-context.js';
import { cloneUrl } from './github-deps.js';
import {
  type GitHubRepositoryRef,
  markInstallationDeleted,
  recordInstallation,
  removeRepositories,
  setInstallationSuspended,
} from './installations.js';
import { installationPayload, installationRepositoriesPayload } from './payloads.js';

/** installation: created, deleted, suspend, unsuspend, new_permissions_accepted. */
export async function handleInstallation(ctx: InstallationContext, raw: unknown): Promise<void> {
  const { db } = ctx.deps;
  const payload = installationPayload.parse(raw);
  const { installation } = payload;
  const log = ctx.log.child({ owner: installation.account.login });
  let added: GitHubRepositoryRef[] = [];
  let accountId: string | null = null;
  await db.transaction(async (tx) => {
    switch (payload.action) {
      case 'deleted':
        await markInstallationDeleted(tx, installation.id);
        break;
      case 'suspend':
        await recordInstallation(tx, installation, null);
        await setInstallationSuspended(tx, installation.id, true);
        break;
      case 'unsuspend':
        await recordInstallation(tx, installation, null);
        await setInstallationSuspended(tx, installation.id, false);
        break;
      default:
        added = payload.repositories ?? [];
        accountId = await recordInstallation(tx, installation, payload.repositories ?? null);
    }
  });
  log.info({ action: payload.action, repositories: added.length }, 'installation recorded');
  if (accountId) await indexRepositories(ctx, accountId, added);
}

/** installation_repositories: added, removed. */
export async function handleInstallationRepositories(ctx: InstallationContext, raw: unknown): Promise<void> {
  const payload = installationRepositoriesPayload.parse(raw);
  const accountId = await ctx.deps.db.transaction(async (tx) => {
    const account = await recordInstallation(tx, payload.installation, payload.repositories_added);
    await removeRepositories(
      tx,
      payload.installation.id,
      payload.repositories_removed.map((r) => r.id),
    );
    return account;
  });
  ctx.log.info(
    { added: payload.repositories_added.length, removed: payload.repositories_removed.length },
    'installation repositories recorded',
  );
  await indexRepositories(ctx, accountId, payload.repositories_added);
}

/** Queues an index run of each newly covered repository, when the operator asked for it. */
async function indexRepositories(ctx: InstallationContext, accountId: string, repositories: GitHubRepositoryRef[]): Promise<void> {
  const { codeIndex, settings } = ctx.deps;
  if (!codeIndex || !settings.indexRepositories) return;
  for (const repo of repositories) {
    try {
      await addRepository(codeIndex, accountId, cloneUrl(settings, repo.full_name), 'repository');
    } catch (err) {
      // One repository that cannot be indexed (too many for the account, unreachable) must not
      // keep the others out, nor retry the whole event.
      ctx.log.warn({ err, repo: repo.full_name }, 'could not queue the repository for indexing');
    }
  }
}
