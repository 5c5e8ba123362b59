import { formatUsd } from '../lib/money.js';
import { type SafeHtml, html } from './html.js';

/** The pages' one stylesheet, served at /kodah.css: the CSP allows no inline style or script. */
export const STYLESHEET = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.8rem; margin-bottom: .25rem; }
.button, button { display: inline-block; padding: .55rem 1rem; border: 0; border-radius: 6px; background: #1f2328; color: #fff;
  font: inherit; text-decoration: none; cursor: pointer; }
button.secondary { background: #eaeef2; color: #1f2328; }
form { display: inline-block; margin: 0 .5rem .5rem 0; }
code.key { display: block; padding: .75rem; background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
  font-size: 1rem; word-break: break-all; user-select: all; }
.note { color: #59636e; font-size: .9rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { color: #59636e; }
body.wide { max-width: 90rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem; overflow: auto; max-height: 20rem;
  font-size: .8rem; white-space: pre-wrap; word-break: break-word; }
.state-completed { color: #1a7f37; } .state-failed, .state-cancelled { color: #cf222e; } .state-running, .state-queued { color: #9a6700; }
.toggle button[aria-pressed="true"] { background: #0969da; color: #fff; }
input[type="number"] { font: inherit; width: 7rem; padding: .45rem; }
.scroll { overflow-x: auto; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
form.grant { display: flex; gap: .4rem; align-items: center; margin: 0; }
`;

/** The page around a body; `head` adds stylesheets and external scripts, `wide` drops the reading width. */
export function layout(title: string, body: SafeHtml, options: { head?: SafeHtml; wide?: boolean } = {}): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Kodah</title>
        <link rel="stylesheet" href="/kodah.css" />
        ${options.head}
      </head>
      <body${options.wide ? html` class="wide"` : ''}>
        ${body}
      </body>
    </html> `.value;
}

export interface Pricing {
  fixPriceCents: number;
  freeFixesPerMonth: number;
}

/** What Kodah is, what it costs, and the way in. */
export function registerPage(options: { pricing: Pricing; signInEnabled: boolean; signedIn: boolean }): string {
  const { pricing } = options;
  const action = options.signedIn
    ? html`<a class="button" href="/dashboard.html">Open your dashboard</a>`
    : options.signInEnabled
      ? html`<a class="button" href="/login">Sign in with GitHub</a>`
      : html`<p class="note">Signing in with GitHub is not set up on this server: ask its operator for an API key.</p>`;
  return layout(
    'Sign in',
    html`<h1>Kodah</h1>
      <p>
        Submit a repository and a bug description; get a tested, reviewable diff back. Kodah clones the code, finds where the bug lives,
        edits it in a sandbox, proves the edit with the repository's tests and hands back a unified diff over one HTTP API.
      </p>
      <h2>Price</h2>
      <p>
        Every fix costs ${formatUsd(pricing.fixPriceCents)}, taken from your balance before the job starts and given back if Kodah fails on
        its side. Every account gets ${pricing.freeFixesPerMonth} free fixes each calendar month for public repositories; paid credits never
        expire and work on private repositories too.
      </p>
      <h2>Get your API key</h2>
      <p>Sign in with GitHub: your first sign-in creates your account and shows your API key (<code>kdh_…</code>) once.</p>
      <p>${action}</p>`,
  );
}

/** A one-button form that posts the session's CSRF token. */
/** A column heading; a `num` column holds figures and is right-aligned. */
export type Column = string | { label: string; num: true };

/**
 * The table every page lists things in: one header row, then the rows. `attributes` go on the
 * table (an id the pages' scripts and tests find it by); `scroll` lets a wide table scroll
 * sideways on a phone instead of widening the page.
 */
export function dataTable(
  columns: readonly Column[],
  rows: readonly SafeHtml[],
  options: { attributes: SafeHtml; caption?: SafeHtml; scroll?: boolean },
): SafeHtml {
  const head = columns.map((c) => (typeof c === 'string' ? html`<th>${c}</th>` : html`<th class="num">${c.label}</th>`));
  const table = html`<table ${options.attributes}>
    ${
      options.caption
        ? html`<caption>
            ${options.caption}
          </caption>`
        : ''
    }
    <thead>
      <tr>
        ${head}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
  return options.scroll ? html`<div class="scroll">${table}</div>` : table;
}

export function csrfForm(action: string, csrf: string, label: string, secondary: boolean): SafeHtml {
  return html`<form method="post" action="${action}">
    <input type="hidden" name="csrf" value="${csrf}" /><button type="submit" ${secondary ? html` class="secondary"` : ''}>${label}</button>
  </form>`;
}

/** A new key, shown this once. */
export function keyPage(key: string): string {
  return layout(
    'Your API key',
    html`<h1>Your API key</h1>
      <p>Copy it now (select it, then Ctrl+C or ⌘C) and keep it somewhere safe: Kodah stores only its hash and will never show it again.</p>
      <code class="key">${key}</code>
      <p>
        Send it in the <code>X-API-Key</code> header of every request. If it leaks, make a new one on your dashboard: the old one stops
        working at once.
      </p>
      <p><a class="button" href="/dashboard.html">Continue to your dashboard</a></p>`,
  );
}

/** Something went wrong; the message is for people, and is escaped like everything else. */
export function errorPage(title: string, message: string): string {
  return layout(
    title,
    html`<h1>${title}</h1>
      <p>${message}</p>
      <p><a href="/register.html">Back to the start</a></p>`,
  );
}
