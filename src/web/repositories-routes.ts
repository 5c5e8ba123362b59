import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { addRepository, type CodeIndexDeps } from '../code-index/manage-repositories.js';
import { listRepositories } from '../code-index/repositories.js';
import { gitHubFullName } from '../git/github-full-name.js';
import { jobsByRepository, type RepositoryJobs } from '../jobs/repository-jobs.js';
import { KodahError } from '../lib/errors.js';
import { HIDDEN, type PageKit } from './page-kit.js';
import { repositoriesPage } from './repositories-page.js';
import type { UserInstallations, UserReach } from './user-installations.js';

export interface RepositoriesDeps {
  kit: PageKit;
  /** Adds repositories to the code index and queues their runs, as the API does. */
  codeIndex: CodeIndexDeps;
  /** Null when the GitHub App or signing in is off: the page then lists the code index alone. */
  userReach: UserInstallations | null;
  /** The App's slug, for the install link; null when the App is off. */
  appSlug: (() => Promise<string | null>) | null;
  /** GITHUB_URL: where repositories and the App's install page live. */
  githubWebUrl: string;
  publicUrl: string;
}

/** GET /repositories.html: what the signed-in user can use with Kodah (see repositories-page.ts). */
export const repositoriesRoutes: FastifyPluginAsync<RepositoriesDeps> = async (app, deps) => {
  const { kit } = deps;
  const indexForm = z.object({ uri: z.string().min(1).max(2048) });

  app.get('/repositories.html', HIDDEN, async (request, reply) => {
    const session = await kit.pageSession(request);
    if (!session) return reply.redirect('/register.html', 303);
    let reach: UserReach | null = null;
    let reachError: string | null = null;
    if (deps.userReach) {
      try {
        reach = await deps.userReach.reach(session.accountId);
      } catch (err) {
        if (!(err instanceof KodahError) || !err.retryable) throw err;
        request.log.warn({ err }, 'could not ask GitHub which repositories the user reaches');
        reachError = 'GitHub did not answer just now, so your repositories through the App are not listed: reload in a moment.';
      }
    } else {
      reachError = 'The GitHub App is not set up on this server: only public repositories and the code index are available.';
    }
    const [indexed, jobs] = await Promise.all([listRepositories(kit.db, session.accountId), jobsByRepository(kit.db, session.accountId)]);
    const byName = new Map<string, RepositoryJobs>();
    for (const j of jobs) {
      const name = gitHubFullName(j.repoUrl, deps.githubWebUrl)?.toLowerCase();
      if (!name) continue;
      // One repository under two spellings (with and without .git): one row, counted together.
      const seen = byName.get(name);
      byName.set(name, seen ? { ...seen, count: seen.count + j.count } : j);
    }
    const indexedRows = indexed.map((r) => ({
      id: r.id,
      remoteUri: r.remote_uri,
      indexedCommit: r.indexed_commit,
      updatedAt: new Date(r.updated_at),
    }));
    const indexedByName = new Map(
      indexedRows.flatMap((r) => {
        const name = gitHubFullName(r.remoteUri, deps.githubWebUrl)?.toLowerCase();
        return name ? [[name, r] as const] : [];
      }),
    );
    const queued = (request.query as { queued?: unknown }).queued;
    const slug = reach?.appSlug ?? (await deps.appSlug?.().catch(() => null)) ?? null;
    return kit.page(
      reply,
      repositoriesPage({
        reach,
        reachError,
        jobs: byName,
        indexed: indexedRows,
        indexedByName,
        csrf: kit.csrf(session.id),
        // Only a remote the account has in its index is echoed back.
        queued: typeof queued === 'string' && indexedRows.some((r) => r.remoteUri === queued) ? queued : null,
        installUrl: slug ? `${deps.githubWebUrl}/apps/${encodeURIComponent(slug)}/installations/new` : null,
        publicUrl: deps.publicUrl,
        cloneUrl: (fullName) => `${deps.githubWebUrl}/${fullName}.git`,
      }),
    );
  });

  // The page's Index / Re-sync buttons: the same checks and queue as POST /api/v1/indexes.
  app.post('/repositories/index', HIDDEN, async (request, reply) => {
    const session = await kit.postedSession(request);
    const form = indexForm.safeParse(request.body);
    if (!form.success) throw new KodahError('invalid_input', 'Say which repository to index: reload the page and try again.');
    const { repository } = await addRepository(deps.codeIndex, session.accountId, form.data.uri, 'Repository');
    request.log.info({ accountId: session.accountId, repositoryId: repository.id }, 'index run queued from the repositories page');
    return reply.redirect(`/repositories.html?queued=${encodeURIComponent(repository.remote_uri)}`, 303);
  });
};
