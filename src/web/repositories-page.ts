import type { RepositoryJobs } from '../jobs/repository-jobs.js';
import { type SafeHtml, html } from './html.js';
import { dataTable, layout } from './pages.js';
import type { ReachableInstallation, ReachableRepository, UserReach } from './user-installations.js';

/** One repository of the code index, as the page shows it. */
export interface IndexedRepository {
  id: string;
  remoteUri: string;
  indexedCommit: string | null;
  updatedAt: Date;
}

export interface RepositoriesView {
  csrf: string;
  /** Set after an index run was queued from this page: the remote. */
  queued: string | null;
  /** The code index's repository for a GitHub repository `owner/name` (lower case). */
  indexedByName: Map<string, IndexedRepository>;
  /** What GitHub says the user reaches through the App; null: no GitHub token (sign in again). */
  reach: UserReach | null;
  /** Set when GitHub could not be asked just now. */
  reachError: string | null;
  /** The account's jobs per repository, keyed by `owner/name` in lower case (GitHub repositories only). */
  jobs: Map<string, RepositoryJobs>;
  indexed: IndexedRepository[];
  /** Where the App is installed on more repositories; null when the App's slug is not known. */
  installUrl: string | null;
  /** Where people reach this server: the base of the `curl` line. */
  publicUrl: string;
  /** The clone URL of a GitHub repository `owner/name`. */
  cloneUrl: (fullName: string) => string;
}

function submitLine(publicUrl: string, repoUrl: string): string {
  const body = JSON.stringify({ repo_url: repoUrl, task: 'fix', description: 'What goes wrong, and how to see it' });
  return `curl -X POST ${publicUrl}/jobs -H "X-API-Key: $KODAH_KEY" -H "Content-Type: application/json" -d '${body.replace(/'/g, "'\\''")}'`;
}

/** The button that adds a remote to the code index, or queues a new run for one already there. */
function indexForm(csrf: string, uri: string, indexed: boolean, label: string): SafeHtml {
  return html`<form method="post" action="/repositories/index">
    <input type="hidden" name="csrf" value="${csrf}" /><input type="hidden" name="uri" value="${uri}" />
    <button type="submit" class="secondary" aria-label="${indexed ? 'Re-sync' : 'Index'} ${label}">${indexed ? 'Re-sync' : 'Index'}</button>
  </form>`;
}

function indexCell(indexed: IndexedRepository | undefined): SafeHtml {
  if (!indexed) return html`not indexed`;
  return indexed.indexedCommit ? html`<code>${indexed.indexedCommit.slice(0, 12)}</code>` : html`indexing`;
}

function jobsCell(jobs: RepositoryJobs | undefined): SafeHtml {
  if (!jobs) return html`none yet`;
  return html`${jobs.count} · <a href="/jobs/${jobs.latestId}.html">latest (${jobs.latestState})</a>`;
}

function repositoryRow(view: RepositoriesView, r: ReachableRepository): SafeHtml {
  const url = view.cloneUrl(r.fullName);
  const key = r.fullName.toLowerCase();
  return html`<tr data-repo="${r.fullName}">
    <td>
      <a href="${/^https?:\/\//.test(r.htmlUrl) ? r.htmlUrl : url}" rel="noopener noreferrer">${r.fullName}</a>
      <details>
        <summary>Submit a fix</summary>
        <pre>${submitLine(view.publicUrl, url)}</pre>
      </details>
    </td>
    <td>${r.private ? 'private' : 'public'}</td>
    <td>${jobsCell(view.jobs.get(key))}</td>
    <td>${indexCell(view.indexedByName.get(key))} ${indexForm(view.csrf, url, view.indexedByName.has(key), r.fullName)}</td>
  </tr>`;
}

/** One table per installation the user reaches: whose it is, and the repositories in it. */
function installationTable(view: RepositoriesView, installation: ReachableInstallation): SafeHtml {
  const repos = [...installation.repositories].sort((a, b) => a.fullName.localeCompare(b.fullName));
  const selection = installation.repositorySelection === 'all' ? 'all repositories' : 'selected repositories';
  return dataTable(
    ['Repository', 'Visibility', 'Your jobs', 'Code index'],
    repos.map((r) => repositoryRow(view, r)),
    {
      attributes: html`data-installation="${installation.id}"`,
      caption: html`Installed on ${installation.account || '—'} (${selection})`,
      scroll: true,
    },
  );
}

function reachSection(view: RepositoriesView): SafeHtml {
  if (view.reachError) return html`<p class="note" role="status">${view.reachError}</p>`;
  if (!view.reach) {
    return html`<p class="note">
      Kodah holds no GitHub token of yours (you signed out elsewhere, or revoked the App on GitHub):
      <a href="/login">sign in again</a> to use your private repositories.
    </p>`;
  }
  const installations = view.reach.installations.filter((i) => i.repositories.length > 0);
  if (installations.length === 0) return html`<p class="note">The App is not installed on any repository you can reach yet.</p>`;
  return html`<div id="reachable">
    <p class="note">As GitHub answered at ${view.reach.checkedAt.toISOString().slice(11, 19)} UTC.</p>
    ${installations.map((i) => installationTable(view, i))}
  </div>`;
}

function indexSection(indexed: IndexedRepository[], csrf: string): SafeHtml {
  if (indexed.length === 0) {
    return html`<p class="note">None: add one with <code>POST /api/v1/repositories</code> and your API key.</p>`;
  }
  const rows = indexed.map(
    (r) =>
      html`<tr data-index="${r.id}">
        <td>${r.id}</td>
        <td>${r.remoteUri}</td>
        <td>${indexCell(r)}</td>
        <td>${r.updatedAt.toISOString().slice(0, 16).replace('T', ' ')}</td>
        <td>${indexForm(csrf, r.remoteUri, true, r.remoteUri)}</td>
      </tr>`,
  );
  return dataTable(['Id', 'Remote', 'Indexed commit', 'Updated (UTC)', ''], rows, { attributes: html`id="indexed"`, scroll: true });
}

/** The repositories a signed-in user can use with Kodah: through the App's installations, and in the code index. */
export function repositoriesPage(view: RepositoriesView): string {
  return layout(
    'Repositories',
    html`<p><a href="/dashboard.html">← Dashboard</a></p>
      <h1>Your repositories</h1>
      <p>
        Your API key may submit any public repository, and the private ones GitHub lets you reach through an installation of Kodah's GitHub
        App. Kodah asks GitHub again every minute or so: a repository you lose on GitHub is gone here too.
      </p>
      ${
        view.installUrl
          ? html`<p><a class="button" href="${view.installUrl}">Install the App on more repositories</a></p>`
          : html`<p class="note">Ask the operator of this server how to install its GitHub App on more repositories.</p>`
      }
      ${view.queued ? html`<p role="status" id="queued">Indexing ${view.queued}: the run is queued.</p>` : ''}
      <h2>Through the GitHub App</h2>
      ${reachSection(view)}
      <h2>In the code index</h2>
      ${indexSection(view.indexed, view.csrf)}`,
    { wide: true },
  );
}
