import type { FixTestRun } from '../jobs/fix-engine.js';
import type { JobRecord } from '../jobs/job-record.js';
import { type SafeHtml, html, jsonScriptContent } from './html.js';
import { isLive, sourceLabel } from './job-summary.js';
import { csrfForm, dataTable, layout } from './pages.js';

/** How often a job page asks for its job's news while the job is queued or running. */
const JOB_POLL_MS = 1000;

const seconds = (s: number) => `${s.toFixed(1)} s`;

function testRun(label: string, run: FixTestRun | null): SafeHtml {
  if (!run) return html`<p><strong>${label}:</strong> not run.</p>`;
  const failed = run.failed.length
    ? html`<ul>
        ${run.failed.map((t) => html`<li><code>${t}</code></li>`)}
      </ul>`
    : html`<p class="note">No failing tests.</p>`;
  const passed = run.passed === null ? '' : `, ${run.passed} passed`;
  return html`<p>
      <strong>${label}:</strong> <code>${run.command}</code>, exit ${run.exitCode ?? 'stopped'}${passed}, ${seconds(run.seconds)}
    </p>
    ${failed}`;
}

function commandsSection(job: JobRecord): SafeHtml {
  if (job.commands.length === 0) return html``;
  return html`<h2>Commands</h2>
    ${job.commands.map(
      (c) =>
        html`<p>
            <code>${c.command}</code> (${c.phase}, ${c.sandbox}) —
            ${c.cached ? 'from cache' : `exit ${c.exitCode ?? 'stopped'}`}${c.limit ? `, stopped by the ${c.limit} limit` : ''},
            ${seconds(c.seconds)}
          </p>
          <pre>${c.outputTail}</pre>`,
    )}`;
}

function stepsSection(job: JobRecord): SafeHtml {
  const steps = job.result?.steps ?? job.steps;
  // A live job's table is there from the start: /job.js appends its steps as they happen.
  if (steps.length === 0 && !isLive(job.state)) return html``;
  const rows = steps.map(
    (s) =>
      html`<tr>
        <td class="num">${s.n}</td>
        <td class="num">${s.candidate}</td>
        <td>${s.tool}</td>
        <td><code>${s.target}</code></td>
        <td class="${s.ok ? '' : 'state-failed'}">${s.outcome}</td>
        <td class="num">${seconds(s.seconds)}</td>
      </tr>`,
  );
  const columns = [
    { label: '#', num: true },
    { label: 'Candidate', num: true },
    'Tool',
    'Target',
    'Outcome',
    { label: 'Time', num: true },
  ] as const;
  return html`<h2>The agent's steps</h2>
    ${dataTable(columns, rows, { attributes: html`id="steps"` })}`;
}

/**
 * While the job is queued or running: where /job.js asks for news (it appends steps, updates the
 * state and reloads the page when the job ends), a refresh link for browsers without script, and
 * the cancel form. Cancelling follows the API's rules: a job no worker has started gets its credit
 * back; a running one stops at its next stage and keeps the debit, as `/kodah cancel` does.
 */
function liveSection(job: JobRecord, csrf: string): SafeHtml {
  if (!isLive(job.state)) return html``;
  const after = job.steps.at(-1)?.n ?? 0;
  const queued = job.state === 'queued';
  return html`<section id="live" data-events="/jobs/${job.id}/events.json" data-after="${after}" data-poll-ms="${JOB_POLL_MS}">
    <p class="note">This page follows the job while it runs. <a href="/jobs/${job.id}.html">Refresh</a> to see where it is now.</p>
    ${csrfForm(`/dashboard/jobs/${job.id}/cancel`, csrf, queued ? 'Cancel this job' : 'Stop this job', true)}
    <p class="note">
      ${
        queued
          ? 'No worker has started it: cancelling gives your credit back.'
          : 'A worker is on it: stopping keeps the credit, since the work was being done.'
      }
    </p>
  </section>`;
}

function resultSection(job: JobRecord, publicUrl: string): SafeHtml {
  const result = job.result;
  if (!result) return html``;
  const usage = result.usage;
  // The diff reaches diff2html as data: JSON in a non-executable script element, read by /job.js.
  return html`<h2>Explanation</h2>
    <pre id="explanation">${result.explanation ?? 'No explanation.'}</pre>
    <h2>Diff</h2>
    <p>
      <a class="button" href="/jobs/${job.id}.patch" download>Download patch</a>
      <span class="toggle"
        ><button type="button" class="secondary" data-format="side-by-side">Side by side</button>
        <button type="button" class="secondary" data-format="line-by-line">Inline</button></span
      >
    </p>
    <p class="note">With your API key:</p>
    <pre>
curl -s -H "X-API-Key: $KODAH_API_KEY" ${publicUrl}/jobs/${job.id} | jq -r .diff > kodah-${job.id}.patch
git apply kodah-${job.id}.patch</pre>
    <script type="application/json" id="diff">
      ${jsonScriptContent(result.diff)}
    </script>
    <div id="diff-view"><pre>${result.diff}</pre></div>
    <h2>Checks</h2>
    <ul>
      ${(result.checks ?? []).map((c) => html`<li>${c.name}: <strong>${c.outcome}</strong>${c.detail ? html` — ${c.detail}` : ''}</li>`)}
    </ul>
    ${
      result.tests
        ? html`<h2>Tests</h2>
            ${testRun('Before the fix', result.tests.before)} ${testRun('With the fix', result.tests.after)}`
        : ''
    }
    ${
      result.candidates
        ? html`<h2>Candidates</h2>
            <p>${result.candidates.tried} tried; number ${result.candidates.winner} won: ${result.candidates.why}</p>`
        : ''
    }
    <h2>Usage</h2>
    <p>
      ${
        usage
          ? html`${usage.promptTokens} prompt tokens, ${usage.completionTokens} completion
            tokens${usage.costUsd !== undefined ? html`, $${usage.costUsd.toFixed(4)}` : ''}`
          : 'Not reported.'
      }
      ${result.mode ? html` · mode ${result.mode}` : ''} ${result.attempts ? html` · ${result.attempts} model answers` : ''}
    </p>`;
}

/** One job of the signed-in account: what it is, how it went, and its diff (drawn by diff2html). */
export function jobPage(job: JobRecord, publicUrl: string, csrf: string): string {
  const head = html`<link rel="stylesheet" href="/assets/diff2html.min.css" />
    <script src="/assets/diff2html-ui.min.js" defer></script>
    <script src="/job.js" defer></script>`;
  return layout(
    `Job ${job.id.slice(0, 8)}`,
    html`<p><a href="/dashboard.html">← Dashboard</a></p>
      <h1>Fix for ${job.repoUrl}</h1>
      <dl>
        <dt>State</dt>
        <dd id="state" class="state-${job.state}" aria-live="polite">${job.state}</dd>
        <dt>Stage</dt>
        <dd id="stage">${job.stage ?? '—'}</dd>
        ${
          isLive(job.state)
            ? html`<dt>Progress</dt>
                <dd><progress id="progress" max="100" value="${job.progress}">${job.progress}%</progress></dd>`
            : ''
        }
        <dt>Source</dt>
        <dd>${sourceLabel(job.source)}</dd>
        <dt>Ref</dt>
        <dd><code>${job.ref}</code>${job.commitSha ? html` at <code>${job.commitSha}</code>` : ''}</dd>
        <dt>Created</dt>
        <dd>${job.createdAt.toISOString()}</dd>
        ${
          job.completedAt
            ? html`<dt>Finished</dt>
                <dd>${job.completedAt.toISOString()}</dd>`
            : ''
        }
        ${
          job.refunded
            ? html`<dt>Credit</dt>
                <dd>refunded</dd>`
            : ''
        }
      </dl>
      ${liveSection(job, csrf)}
      <h2>Bug</h2>
      <pre id="description">${job.description}</pre>
      ${
        job.error
          ? html`<h2>Error</h2>
              <pre id="error">${job.error}</pre>`
          : ''
      }
      ${resultSection(job, publicUrl)} ${commandsSection(job)} ${stepsSection(job)}`,
    { wide: true, head },
  );
}
