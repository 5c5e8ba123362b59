import { html } from './html.js';
import { layout } from './pages.js';

/** /setup with the token: register the App for the operator's own account or for an organisation. */
export function setupPage(token: string): string {
  return layout(
    'Set up the GitHub App',
    html`<h1>Set up Kodah's GitHub App</h1>
      <p>
        Kodah answers in repositories through a GitHub App of your own. Registering it here sends Kodah's manifest (its permissions, events
        and this server's addresses) to GitHub, where you name the App and create it; GitHub then sends you back here and Kodah keeps the
        App's key and secrets in its data folder.
      </p>
      <form method="post" action="/setup">
        <input type="hidden" name="token" value="${token}" />
        <p>
          <label for="org">Organisation (leave empty to register the App on your own account)</label><br />
          <input id="org" name="org" type="text" autocomplete="off" spellcheck="false" maxlength="39" pattern="[A-Za-z0-9][A-Za-z0-9-]*" />
        </p>
        <button type="submit">Register GitHub App</button>
      </form>
      <p class="note">This page answers only with the setup token from Kodah's log, and is gone once the App is registered.</p>`,
  );
}

/**
 * The step to GitHub: a form that posts the manifest to GitHub's manifest flow. A form, not a
 * redirect: the manifest must reach GitHub in the body of a POST made by the operator's browser.
 */
export function continuePage(action: string, manifest: string, org: string | null): string {
  return layout(
    'Continue on GitHub',
    html`<h1>Continue on GitHub</h1>
      <p>
        GitHub will show the App ${org ? html`for the organisation <strong>${org}</strong>` : 'for your account'}: choose its name and
        create it. GitHub then sends you back to Kodah.
      </p>
      <form id="to-github" method="post" action="${action}">
        <input type="hidden" name="manifest" value="${manifest}" />
        <button type="submit">Continue on GitHub</button>
      </form>`,
  );
}

/** After the conversion: the App works; installing it is the last step. */
export function setupDonePage(app: { name: string; htmlUrl: string }): string {
  return layout(
    'GitHub App registered',
    html`<h1>GitHub App registered</h1>
      <p>
        <a href="${app.htmlUrl}">${app.name}</a> is set up and running: Kodah now takes its webhooks, and people can sign in with GitHub.
        Its key and secrets are in Kodah's data folder (<code>github-app.json</code>, readable by Kodah's user only): back it up with the
        database.
      </p>
      <p>The last step: install the App on the accounts and repositories Kodah should work in.</p>
      <p><a id="install" class="button" href="${app.htmlUrl}/installations/new">Install the App</a></p>`,
  );
}
