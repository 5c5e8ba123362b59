import type { FastifyPluginAsync } from 'fastify';
import { listRepositories } from '../code-index/repositories.js';
import { gitHubFullName } from '../git/github-full-name.js';
import { jobsByRepository, type RepositoryJobs } from '../jobs/repository-jobs.js';
import { KodahError } from '../lib/errors.js';
import { HIDDEN, type PageKit } from './page-kit.js';
import { repositoriesPage } from './repositories-page.js';
import type { UserInstallations, UserReach } from './user-installations.js';

export interface RepositoriesDeps {
  kit: PageKit;
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
    const slug = reach?.appSlug ?? (await deps.appSlug?.().catch(() => null)) ?? null;
    return kit.page(
      reply,
      repositoriesPage({
        reach,
        reachError,
        jobs: byName,
        indexed: indexed.map((r) => ({
          id: r.id,
          remoteUri: r.remote_uri,
          indexedCommit: r.indexed_commit,
          updatedAt: new Date(r.updated_at),
        })),
        installUrl: slug ? `${deps.githubWebUrl}/apps/${encodeURIComponent(slug)}/installations/new` : null,
        publicUrl: deps.publicUrl,
        cloneUrl: (fullName) => `${deps.githubWebUrl}/${fullName}.git`,
      }),
    );
  });
};
