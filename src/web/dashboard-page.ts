import type { LedgerEntry } from '../billing/credits.js';
import { formatUsd } from '../lib/money.js';
import { type SafeHtml, html } from './html.js';
import { type JobSummary, isLive } from './job-summary.js';
import { csrfForm, dataTable, layout } from './pages.js';

export interface DashboardView {
  email: string;
  githubLogin: string | null;
  freeCredits: number;
  paidBalanceCents: number;
  fixPriceCents: number;
  csrf: string;
  ledger: LedgerEntry[];
  jobs: JobSummary[];
  /** Null when Stripe is not configured: the page says how the operator adds credits instead. */
  purchases: { minCents: number; maxCents: number } | null;
  /** The account's GitHub login is in KODAH_ADMINS: the page links the operator page. */
  admin: boolean;
}

const KIND_LABEL: Record<LedgerEntry['kind'], string> = {
  monthly_grant: 'Monthly free fixes',
  purchase: 'Purchase',
  grant: 'Credit from the operator',
  debit: 'Fix',
  refund: 'Refund',
  purchase_refund: 'Payment refunded: credits taken back',
  dispute: 'Payment disputed: credits taken back',
  dispute_won: 'Dispute won: credits given back',
};

/** A ledger amount in its pool's unit: whole fixes for the free pool, dollars for the paid one. */
function ledgerAmount(entry: LedgerEntry): string {
  const sign = entry.amount > 0 ? '+' : '−';
  const size = Math.abs(entry.amount);
  if (entry.pool === 'free') return `${sign}${size} free fix${size === 1 ? '' : 'es'}`;
  return `${sign}${formatUsd(size)}`;
}

function jobLink(id: string): SafeHtml {
  return html`<a href="/jobs/${id}.html">${id.slice(0, 8)}</a>`;
}

function ledgerTable(ledger: LedgerEntry[]): SafeHtml {
  if (ledger.length === 0) return html`<p class="note">No credit movements yet.</p>`;
  const rows = ledger.map(
    (e) =>
      html`<tr>
        <td>${e.createdAt.toISOString().slice(0, 16).replace('T', ' ')}</td>
        <td>${KIND_LABEL[e.kind] ?? e.kind}</td>
        <td class="num">${ledgerAmount(e)}</td>
        <td>${e.jobId ? jobLink(e.jobId) : '—'}</td>
      </tr>`,
  );
  return dataTable(['When (UTC)', 'What', { label: 'Amount', num: true }, 'Job'], rows, { attributes: html`id="ledger"` });
}

function jobsTable(jobs: JobSummary[]): SafeHtml {
  if (jobs.length === 0) return html`<p class="note">No jobs yet: submit one with your API key (POST /jobs).</p>`;
  // data-* attributes carry what /dashboard.js needs to update a row in place.
  const rows = jobs.map(
    (j) =>
      html`<tr data-job="${j.id}" data-live="${isLive(j.state) ? '1' : '0'}">
        <td>${jobLink(j.id)}</td>
        <td class="state state-${j.state}">${j.state}</td>
        <td class="stage">${j.stage ?? '—'}</td>
        <td>${j.source}</td>
        <td>${j.repo}</td>
        <td>${j.createdAt.slice(0, 16).replace('T', ' ')}</td>
      </tr>`,
  );
  return dataTable(['Job', 'State', 'Stage', 'Source', 'Repository', 'Created (UTC)'], rows, { attributes: html`id="jobs"` });
}

function buyCredits(view: DashboardView): SafeHtml {
  if (!view.purchases) {
    return html`<p class="note">
      Buying credits is not enabled on this server. Its operator adds credits with
      <code>npx kodah credits add --account ${view.email} --usd 10.00</code>.
    </p>`;
  }
  const { minCents, maxCents } = view.purchases;
  return html`<form method="post" action="/dashboard/checkout">
      <input type="hidden" name="csrf" value="${view.csrf}" />
      <label
        >Amount in USD
        <input
          type="number"
          name="usd"
          min="${minCents / 100}"
          max="${maxCents / 100}"
          step="0.01"
          value="${Math.max(10, minCents / 100)}"
          required
      /></label>
      <button type="submit">Buy credits</button>
    </form>
    <p class="note">From ${formatUsd(minCents)} to ${formatUsd(maxCents)}, paid with Stripe; paid credits never expire.</p>`;
}

/** The signed-in account: credits, the ledger, buying credits, the key, and the jobs (live while they run). */
export function dashboardPage(view: DashboardView): string {
  return layout(
    'Dashboard',
    html`<h1>Your Kodah account</h1>
      <nav aria-label="Pages">
        <a href="/repositories.html">Your repositories</a>${view.admin ? html` · <a href="/admin.html">Operator page</a>` : ''}
      </nav>
      <dl>
        <dt>E-mail</dt>
        <dd>${view.email}</dd>
        <dt>GitHub</dt>
        <dd>${view.githubLogin ?? '—'}</dd>
        <dt>Free fixes left this month</dt>
        <dd>${view.freeCredits}</dd>
        <dt>Paid balance</dt>
        <dd>${formatUsd(view.paidBalanceCents)}</dd>
        <dt>Price of a fix</dt>
        <dd>${formatUsd(view.fixPriceCents)}</dd>
      </dl>
      <h2>Buy credits</h2>
      ${buyCredits(view)}
      <h2>Jobs</h2>
      ${jobsTable(view.jobs)}
      <h2>Credit ledger</h2>
      ${ledgerTable(view.ledger)}
      <h2>API key</h2>
      <p>
        Kodah keeps only a hash of your key, so it cannot show it again. A new key replaces the old one at once: the old key stops working.
      </p>
      ${csrfForm('/keys/new', view.csrf, 'New key', false)} ${csrfForm('/logout', view.csrf, 'Sign out', true)}`,
    { wide: true, head: html`<script src="/dashboard.js" defer></script>` },
  );
}
