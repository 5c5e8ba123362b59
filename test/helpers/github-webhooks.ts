import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/*
 * Webhook deliveries as GitHub makes them: real example payloads (from @octokit/webhooks-examples,
 * contributed from actual deliveries) pointed at a fake repository, posted with GitHub's headers and
 * an HMAC signature of the exact bytes sent.
 */

interface ExampleGroup {
  name: string;
  examples: unknown[];
}

let examples: ExampleGroup[] | undefined;
/** The examples file is large (megabytes): read it once, on first use. */
function allExamples(): ExampleGroup[] {
  if (!examples) {
    const file = createRequire(import.meta.url).resolve('@octokit/webhooks-examples/api.github.com/index.json');
    examples = JSON.parse(readFileSync(file, 'utf8')) as ExampleGroup[];
  }
  return examples;
}

/**
 * A deep copy (free to change) of the first real `event` payload that `pick` accepts, e.g.
 * `loadExample('issues', (p) => p.action === 'labeled')`. Throws when there is none.
 */
export function loadExample(event: string, pick: (payload: any) => boolean = () => true): any {
  const group = allExamples().find((g) => g.name === event);
  if (!group) throw new Error(`no webhook examples for event "${event}"`);
  const found = group.examples.find((payload) => pick(payload));
  if (found === undefined) {
    const actions = [...new Set(group.examples.map((p) => (p as { action?: string }).action ?? '(none)'))];
    throw new Error(`no "${event}" example matches; its actions: ${actions.join(', ')}`);
  }
  return structuredClone(found);
}

export interface SendWebhookOptions {
  /** Signs the body with this secret (x-hub-signature-256, and the legacy sha1 x-hub-signature). */
  secret?: string;
  /** The x-github-delivery id; a random UUID by default (GitHub's redeliveries reuse one). */
  delivery?: string;
  /** null sends no signature; a string sends that instead of the real one (a forgery). */
  signature?: string | null;
  /** Default /api/github/webhooks (Probot's). */
  path?: string;
  /** Sent instead of JSON.stringify(payload) (and signed as is). */
  rawBody?: string;
}

export interface WebhookResponse {
  status: number;
  body: string;
  /** How long the receiver took to answer (GitHub gives up after 10 s). */
  ms: number;
}

/** POSTs a webhook delivery the way GitHub does. */
export async function sendWebhook(
  baseUrl: string,
  event: string,
  payload: unknown,
  options: SendWebhookOptions = {},
): Promise<WebhookResponse> {
  const body = options.rawBody ?? JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/abc',
    'x-github-event': event,
    'x-github-delivery': options.delivery ?? randomUUID(),
    'x-github-hook-id': '123456789',
    'x-github-hook-installation-target-type': 'integration',
    'x-github-hook-installation-target-id': '424242',
  };
  if (typeof options.signature === 'string') headers['x-hub-signature-256'] = options.signature;
  else if (options.signature !== null && options.secret !== undefined) {
    // The signature covers the exact bytes of the body, so receivers must verify before parsing.
    headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', options.secret).update(body).digest('hex')}`;
    headers['x-hub-signature'] = `sha1=${createHmac('sha1', options.secret).update(body).digest('hex')}`;
  }
  const started = performance.now();
  const response = await fetch(`${baseUrl.replace(/\/$/, '')}${options.path ?? '/api/github/webhooks'}`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text, ms: performance.now() - started };
}

export interface AdaptRepositoryOptions {
  owner: string;
  name: string;
  id: number;
  /** Left as in the example when not given. */
  private?: boolean;
  ownerId?: number;
  ownerType?: 'User' | 'Organization';
  /** Default https://github.com/<owner>/<name>.git; give the git server's URL to clone for real. */
  cloneUrl?: string;
  defaultBranch?: string;
  /** Sets (or adds) installation.id: Probot needs it to act as the installation. */
  installationId?: number;
}

/**
 * Points a real example payload at a fake repository: rewrites `repository` (and the `repo` of a
 * pull request's base, and its head when it is the same repository), `organization` and
 * `installation`, and every URL field that named the old repository. Everything else, the part
 * the example is there for, stays as GitHub sent it.
 */
export function adaptRepository(payload: any, options: AdaptRepositoryOptions): any {
  const fullName = `${options.owner}/${options.name}`;
  const old = payload?.repository;
  const oldFullName: string | undefined = old?.full_name;
  const oldOwner: string | undefined = old?.owner?.login;

  const rewriteRepo = (repo: any) => {
    repo.id = options.id;
    repo.node_id = Buffer.from(`010:Repository${options.id}`).toString('base64');
    repo.name = options.name;
    repo.full_name = fullName;
    if (options.private !== undefined) {
      repo.private = options.private;
      if ('visibility' in repo) repo.visibility = options.private ? 'private' : 'public';
    }
    if (options.defaultBranch !== undefined) repo.default_branch = options.defaultBranch;
    const previousOwner: string | undefined = repo.owner?.login;
    repo.owner = { ...(repo.owner ?? {}), login: options.owner };
    // The owner's own URLs (html_url, repos_url…) name the old login.
    if (previousOwner && previousOwner !== options.owner)
      for (const [key, child] of Object.entries(repo.owner)) {
        if (typeof child === 'string' && /(^|_)url$/.test(key))
          repo.owner[key] = child
            .split(`/users/${previousOwner}`)
            .join(`/users/${options.owner}`)
            .split(`github.com/${previousOwner}`)
            .join(`github.com/${options.owner}`);
      }
    if (options.ownerId !== undefined) repo.owner.id = options.ownerId;
    if (options.ownerType !== undefined) repo.owner.type = options.ownerType;
    repo.html_url = `https://github.com/${fullName}`;
    repo.url = `https://api.github.com/repos/${fullName}`;
    repo.clone_url = options.cloneUrl ?? `https://github.com/${fullName}.git`;
    repo.git_url = `git://github.com/${fullName}.git`;
    repo.ssh_url = `git@github.com:${fullName}.git`;
    repo.svn_url = `https://github.com/${fullName}`;
  };

  if (old) rewriteRepo(old);
  const pull = payload?.pull_request;
  if (pull?.base?.repo) {
    const headIsSame = pull.head?.repo && pull.head.repo.id === pull.base.repo.id;
    rewriteRepo(pull.base.repo);
    pull.base.label = `${options.owner}:${pull.base.ref}`;
    if (headIsSame) {
      rewriteRepo(pull.head.repo);
      pull.head.label = `${options.owner}:${pull.head.ref}`;
    }
  }
  if (payload?.organization) {
    payload.organization.login = options.owner;
    if (options.ownerId !== undefined) payload.organization.id = options.ownerId;
  }
  if (options.installationId !== undefined) payload.installation = { ...(payload.installation ?? {}), id: options.installationId };
  if (!payload.installation?.node_id && payload.installation)
    payload.installation.node_id = Buffer.from(`031:Installation${payload.installation.id}`).toString('base64');

  // URLs elsewhere in the payload (issue.html_url, comment.issue_url…) still name the example's
  // repository; rewrite those too, in URL fields only, never in bodies or titles.
  if (oldFullName && oldFullName !== fullName) {
    const apiOld = `/repos/${oldFullName}`;
    const htmlOld = `github.com/${oldFullName}`;
    const walk = (value: any) => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object')
        for (const [key, child] of Object.entries(value)) {
          if (typeof child === 'string' && /(^|_)(url|href)$/.test(key))
            value[key] = child.split(apiOld).join(`/repos/${fullName}`).split(htmlOld).join(`github.com/${fullName}`);
          else walk(child);
        }
    };
    walk(payload);
  }
  // Organization URLs name the old owner.
  if (oldOwner && payload?.organization && oldOwner !== options.owner) {
    for (const [key, child] of Object.entries(payload.organization)) {
      if (typeof child === 'string' && /(^|_)url$/.test(key))
        payload.organization[key] = child.split(`/orgs/${oldOwner}`).join(`/orgs/${options.owner}`);
    }
  }
  return payload;
}
