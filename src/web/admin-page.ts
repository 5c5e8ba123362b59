import type { AccountOverview, JobOverview, QueueCounts } from '../jobs/operator-overview.js';
import { formatUsd } from '../lib/money.js';
import { type SafeHtml, html } from './html.js';
import { sourceLabel } from './job-summary.js';
import { dataTable, layout } from './pages.js';

export interface AdminView {
  operator: string;
  csrf: string;
  accounts: AccountOverview[];
  /** A one-time id per account's grant form, so a form sent twice grants once. */
  grantIds: Map<string, string>;
  jobs: JobOverview[];
  queue: QueueCounts;
  maxQueuedJobs: number;
  status: { githubApp: boolean; signIn: boolean; purchases: boolean; model: boolean };
  /** Set after a grant: who got how much. */
  granted: string | null;
}

const when = (d: Date) => d.toISOString().slice(0, 16).replace('T', ' ');
const who = (email: string, login: string | null) => (login ? `${login} (${email})` : email);

function accountsTable(view: AdminView): SafeHtml {
  if (view.accounts.length === 0) return html`<p class="note">No accounts yet.</p>`;
  const rows = view.accounts.map(
    (a) =>
      html`<tr data-account="${a.id}">
        <td>${a.githubLogin ?? '—'}</td>
        <td>${a.email}</td>
        <td class="num balance">${formatUsd(a.paidBalanceCents)}</td>
        <td class="num">${a.freeLeft}</td>
        <td class="num">${a.jobsThisMonth}</td>
        <td>
          <form method="post" action="/admin/grant" class="grant">
            <input type="hidden" name="csrf" value="${view.csrf}" />
            <input type="hidden" name="account" value="${a.id}" />
            <input type="hidden" name="grant" value="${view.grantIds.get(a.id) ?? ''}" />
            <label
              >USD
              <input
                type="number"
                name="usd"
                min="0.01"
                step="0.01"
                required
                aria-label="US dollars to grant to ${who(a.email, a.githubLogin)}"
            /></label>
            <button type="submit">Grant</button>
          </form>
        </td>
      </tr>`,
  );
  const columns = [
    'GitHub',
    'E-mail',
    { label: 'Paid balance', num: true },
    { label: 'Free left', num: true },
    { label: 'Jobs this month', num: true },
    'Grant credits',
  ] as const;
  return dataTable(columns, rows, { attributes: html`id="accounts"`, scroll: true });
}

function jobsTable(jobs: JobOverview[]): SafeHtml {
  if (jobs.length === 0) return html`<p class="note">No jobs yet.</p>`;
  const rows = jobs.map(
    (j) =>
      html`<tr data-job="${j.id}">
        <td><code>${j.id.slice(0, 8)}</code></td>
        <td>${who(j.email, j.githubLogin)}</td>
        <td class="state state-${j.state}">${j.state}</td>
        <td>${j.stage ?? '—'}</td>
        <td>${sourceLabel(j.source)}</td>
        <td>${j.repoUrl}</td>
        <td>${when(j.createdAt)}</td>
      </tr>`,
  );
  const columns = ['Job', 'Account', 'State', 'Stage', 'Source', 'Repository', 'Created (UTC)'];
  return dataTable(columns, rows, { attributes: html`id="recent-jobs"`, scroll: true });
}

const onOff = (on: boolean) => (on ? 'on' : 'off');

/** The operator's page: every account with a grant form, recent jobs of all accounts, the queue. */
export function adminPage(view: AdminView): string {
  const { status, queue } = view;
  return layout(
    'Operator',
    html`<h1>Operator</h1>
      <p class="note">Signed in as ${view.operator}. <a href="/dashboard.html">Your dashboard</a></p>
      ${view.granted ? html`<p role="status" id="granted">Granted ${view.granted}.</p>` : ''}
      <h2>Server</h2>
      <dl id="server">
        <dt>Jobs waiting</dt>
        <dd>${queue.queued} of at most ${view.maxQueuedJobs}</dd>
        <dt>Jobs running</dt>
        <dd>${queue.running}</dd>
        <dt>GitHub App</dt>
        <dd>${onOff(status.githubApp)}</dd>
        <dt>Signing in with GitHub</dt>
        <dd>${onOff(status.signIn)}</dd>
        <dt>Buying credits (Stripe)</dt>
        <dd>${onOff(status.purchases)}</dd>
        <dt>Model</dt>
        <dd>${status.model ? 'configured' : 'none: jobs fail and are refunded'}</dd>
      </dl>
      <h2>Accounts</h2>
      <p class="note">
        The newest ${view.accounts.length} accounts. A grant adds paid credit, recorded in the account's ledger as credit from the operator
        (as <code>npx kodah credits add</code> does).
      </p>
      ${accountsTable(view)}
      <h2>Recent jobs</h2>
      ${jobsTable(view.jobs)}`,
    { wide: true },
  );
}
