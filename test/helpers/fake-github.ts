import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID, verify } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import type { GitHttpServer } from './git-http-server.js';

/*
 * A local fake of the GitHub REST API for a GitHub App's integration tests. It speaks the real
 * protocol (paths, status codes, headers, JSON shapes close to api.github.com) so that real clients
 * (Probot's Octokit with its auth, retry, throttling and paginate plugins) run unchanged against it.
 * Repository contents and branches are never faked: they are read from the GitHttpServer's bare
 * repositories, so what the app pushes over git is what the API then shows.
 */

export type RepoPermission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';
export type AccountType = 'User' | 'Organization' | 'Bot';

export interface FakeUserInput {
  login: string;
  type?: AccountType;
}

export interface FakeRepoInput {
  owner: string;
  name: string;
  id: number;
  private?: boolean;
  defaultBranch?: string;
  ownerId?: number;
  ownerType?: AccountType;
}

export interface FakeIssueInput {
  number: number;
  title: string;
  body?: string | null;
  user?: FakeUserInput;
  labels?: string[];
  /** Registers the issue as the issue of a pull request (addPull does this itself). */
  pullRequest?: boolean;
  state?: 'open' | 'closed';
}

export interface FakeCommentInput {
  body: string;
  user: FakeUserInput;
}

export interface FakePullInput {
  number: number;
  title: string;
  body?: string | null;
  /** `sha` defaults to the branch tip in git; `repoFullName` (a fork) to this repository. */
  head: { ref: string; sha?: string; repoFullName?: string };
  base: { ref: string };
  user?: FakeUserInput;
  draft?: boolean;
  state?: 'open' | 'closed';
}

export interface FakeReviewCommentInput {
  path: string;
  /** The (last) line commented on; null for an outdated comment. Default 1. */
  line?: number | null;
  /** The first line of a multi-line comment. */
  startLine?: number | null;
  /** Default a one-line hunk at `line`. */
  diffHunk?: string;
  body: string;
}

export interface FakeReviewInput {
  user: FakeUserInput;
  state: 'COMMENTED' | 'CHANGES_REQUESTED' | 'APPROVED' | 'DISMISSED';
  body?: string | null;
  /** Its inline comments, published with it. */
  comments?: FakeReviewCommentInput[];
}

/** A submitted review and its inline comments, as the API answers them (ids to put in webhook payloads). */
export interface FakeReview {
  review: Record<string, unknown> & { id: number };
  comments: Array<Record<string, unknown> & { id: number }>;
}

/** A pull request as the fake holds it (what pulls() returns). */
export interface FakePull {
  id: number;
  number: number;
  title: string;
  body: string | null;
  /** `sha` is the sha when the pull request was made; the API answers the branch's current tip. */
  head: { ref: string; sha: string; repoFullName: string };
  base: { ref: string };
  draft: boolean;
  state: 'open' | 'closed';
  user: { login: string; type: AccountType };
  maintainerCanModify: boolean;
  /** True when made through POST /pulls (by the app), false when added by the test. */
  createdThroughApi: boolean;
  createdAt: string;
  updatedAt: string;
}

/** An annotation as GitHub's check runs API takes and gives it. */
export interface FakeAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  message: string;
  title?: string | null;
  raw_details?: string | null;
  start_column?: number | null;
  end_column?: number | null;
}

export interface FakeCheckRunInput {
  owner: string;
  /** The repository's name. */
  name: string;
  /** For GitHub Actions, a job's check run has the job's id: use the same id in addWorkflowRun. */
  id: number;
  /** The check's name (the job name for GitHub Actions). */
  checkName: string;
  headSha: string;
  status?: 'queued' | 'in_progress' | 'completed';
  conclusion?: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | null;
  output: { title: string | null; summary: string | null; text?: string | null };
  annotations?: FakeAnnotation[];
  appSlug?: string;
  /** Defaults to the suite of an earlier run of the same app on the same sha, else a new one. */
  checkSuiteId?: number;
  detailsUrl?: string;
  externalId?: string;
}

export interface FakeWorkflowRunInput {
  owner: string;
  /** The repository's name. */
  name: string;
  id: number;
  headSha: string;
  headBranch?: string;
  workflowName?: string;
  /** Defaults to 'failure' when a job failed, else 'success'. */
  conclusion?: string | null;
  jobs: Array<{ id: number; name: string; conclusion: string | null; steps?: Array<{ name: string; conclusion: string | null }> }>;
}

export interface FakeInstallationInput {
  id: number;
  account: { login: string; id: number; type: AccountType };
  /** The repositories the installation was given; all repositories of the fake when absent. */
  repositoryIds?: number[];
  /** What the app was granted; a token may ask for less, never more. */
  permissions?: Record<string, 'read' | 'write' | 'admin'>;
}

/** A scripted answer for failNext. */
export interface FakeGitHubReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface FakeGitHubRequest {
  method: string;
  /** The path without the query string, as sent (percent-encoded). */
  path: string;
  query: Record<string, string>;
  /** The parsed JSON body; the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  /** The authorization header as sent. */
  auth: string | undefined;
  /** Date.now() when it arrived. */
  at: number;
}

/** An unanswered route, or an error inside the fake itself (`error`). */
export interface FakeGitHubUnhandled extends FakeGitHubRequest {
  error?: string;
}

export interface FakeTokenGrant {
  token: string;
  installationId: number;
  repositoryIds?: number[];
  repositories?: string[];
  permissions?: Record<string, string>;
}

/** One non-GET request made with an installation token, from arrival to the end of its answer. */
export interface FakeWrite {
  method: string;
  path: string;
  installationId: number;
  start: number;
  end: number;
  status: number;
}

/** A reaction as the API answers it. */
export interface FakeReaction {
  id: number;
  node_id: string;
  content: string;
  user: Record<string, unknown>;
  created_at: string;
}

/** A person who can sign in to Kodah with GitHub (the OAuth web flow). */
export interface FakeOAuthUserInput {
  login: string;
  /** Default: the id the fake gives the login everywhere else. */
  id?: number;
  /** The primary e-mail; null: none that /user/emails shows. */
  email?: string | null;
  /** Whether the primary e-mail is verified (default true). */
  emailVerified?: boolean;
}

/** The OAuth credentials the fake accepts (the GitHub App's client id and secret). */
export const FAKE_OAUTH_CLIENT_ID = 'Iv23.fakekodahclient';
export const FAKE_OAUTH_CLIENT_SECRET = 'fake-client-secret-0123456789abcdef';
/** The cookie that tells the fake's authorize page who is signed in to GitHub in this browser. */
export const FAKE_GITHUB_USER_COOKIE = 'fake_github_user';

export interface FakeGitHub {
  /** The API base URL (like https://api.github.com), no trailing slash. */
  readonly url: string;
  /** The app's bot login ("kodah[bot]"): the author of everything the app writes. */
  readonly botLogin: string;
  /** Every request, in order. */
  requests: FakeGitHubRequest[];
  /** Requests no route answered (404), and errors inside the fake: tests assert it stays empty. */
  unhandled: FakeGitHubUnhandled[];
  /** Every installation token minted, with what was asked for. */
  tokens: FakeTokenGrant[];
  /** The web base URL (like https://github.com: /login/oauth/…), the same server as `url`. */
  readonly webUrl: string;

  addRepo(repo: FakeRepoInput): void;
  setPermission(owner: string, name: string, login: string, permission: RepoPermission): void;
  addIssue(owner: string, name: string, issue: FakeIssueInput): void;
  /** Returns the comment as the API answers it. */
  addIssueComment(owner: string, name: string, issueNumber: number, comment: FakeCommentInput): Record<string, unknown>;
  addPull(owner: string, name: string, pull: FakePullInput): void;
  /** Submits a review (with its inline comments) on a pull request, at the pull request's head. */
  addReview(owner: string, name: string, pullNumber: number, review: FakeReviewInput): FakeReview;
  addCheckRun(run: FakeCheckRunInput): void;
  addWorkflowRun(run: FakeWorkflowRunInput): void;
  setJobLog(owner: string, name: string, jobId: number, text: string): void;
  addInstallation(installation: FakeInstallationInput): void;
  /**
   * A GitHub user who may sign in. GET /login/oauth/authorize approves at once for the user named by
   * the FAKE_GITHUB_USER_COOKIE cookie (a browser signed in to GitHub), else the last one added.
   */
  addOAuthUser(user: FakeOAuthUserInput): { id: number; login: string };
  /** Revokes every user token (access and refresh) of the login, as the user revoking the app does. */
  revokeUserTokens(login: string): void;
  /** The live access tokens of a login, newest last. */
  userTokens(login: string): string[];
  /** Makes a minted token answer 401 (API and git), as an expired one does. */
  expireToken(token: string): void;
  /**
   * The next `times` requests whose method (or '*') and path (without query) match get `reply`
   * instead of their answer, e.g. a secondary rate limit: 403, retry-after: 1.
   */
  failNext(method: string, pathPattern: RegExp, reply: FakeGitHubReply, times?: number): void;

  /** The bodies of an issue's comments, oldest first, as they are now (after edits). */
  comments(owner: string, name: string, issueNumber: number): string[];
  reactions(owner: string, name: string, target: { issue?: number; commentId?: number; reviewCommentId?: number }): FakeReaction[];
  pulls(owner: string, name: string): FakePull[];
  /** The most non-GET installation-token requests in flight at once (for one installation, or any). */
  maxConcurrentWrites(installationId?: number): number;
  /** Every non-GET installation-token request, in order of arrival. */
  writeTimes(): FakeWrite[];
  close(): Promise<void>;
}

export interface FakeGitHubOptions {
  git: GitHttpServer;
  /** The app's slug: its bot is `${appSlug}[bot]`. Default 'kodah'. */
  appSlug?: string;
  appId?: number;
  /** How long user access tokens live (expires_in); default 28800 s, like GitHub's. */
  userTokenLifetimeS?: number;
  /**
   * How long each write is held before it is answered (default 15 ms), so that writes a client
   * sends concurrently overlap here and maxConcurrentWrites sees them.
   */
  writeDelayMs?: number;
}

type Json = Record<string, unknown>;
type Reply = FakeGitHubReply;

const DOCS = 'https://docs.github.com/rest';
const JSON_TYPE = 'application/json; charset=utf-8';
const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: tmpdir() };
const execFileAsync = promisify(execFile);
const REACTIONS = ['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes'];
/** What an installation may do unless addInstallation says otherwise. */
const DEFAULT_PERMISSIONS: Record<string, string> = {
  metadata: 'read',
  contents: 'write',
  issues: 'write',
  pull_requests: 'write',
  checks: 'read',
  actions: 'read',
};
const LEVEL = { none: 0, read: 1, write: 2, admin: 3 } as const;

const notFound = (message = 'Not Found'): Reply => ({ status: 404, body: { message, documentation_url: DOCS } });
const validationFailed = (errors: Json[], doc = DOCS): Reply => ({
  status: 422,
  body: { message: 'Validation Failed', errors, documentation_url: doc },
});
const nodeId = (kind: string, id: number) => Buffer.from(`0:${kind}${id}`).toString('base64').replace(/=+$/, '');
const isoNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Whether an App's JWT (RS256) is signed with the key. */
function verifiesJwt(jwt: string, key: KeyObject): boolean {
  const [header, payload, signature] = jwt.split('.');
  try {
    return verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature!, 'base64url'));
  } catch {
    return false;
  }
}

/** Runs git in a bare repository, asynchronously (this is called while git clients talk to the server). */
async function gitAsync(gitDir: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', ['--git-dir', gitDir, ...args], { env: GIT_ENV, encoding: 'utf8', maxBuffer: 64 << 20 });
  return stdout;
}
async function gitBuffer(gitDir: string, args: string[]): Promise<Buffer> {
  const { stdout } = await execFileAsync('git', ['--git-dir', gitDir, ...args], { env: GIT_ENV, encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}
async function gitOrNull(gitDir: string, args: string[]): Promise<string | null> {
  try {
    return (await gitAsync(gitDir, args)).trim() || null;
  } catch {
    return null;
  }
}

interface UserState {
  login: string;
  type: AccountType;
}
interface IssueState {
  id: number;
  number: number;
  title: string;
  body: string | null;
  user: UserState;
  labels: string[];
  state: 'open' | 'closed';
  isPull: boolean;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}
interface CommentState {
  id: number;
  issueNumber: number;
  body: string;
  user: UserState;
  createdAt: string;
  updatedAt: string;
}
interface ReviewState {
  id: number;
  pullNumber: number;
  user: UserState;
  state: FakeReviewInput['state'];
  body: string | null;
  commitId: string;
  submittedAt: string;
}
interface ReviewCommentState {
  id: number;
  reviewId: number;
  pullNumber: number;
  user: UserState;
  path: string;
  line: number | null;
  startLine: number | null;
  diffHunk: string;
  body: string;
  commitId: string;
  createdAt: string;
}
interface ReactionState {
  id: number;
  content: string;
  user: UserState;
  createdAt: string;
}
interface CheckRunState extends Omit<FakeCheckRunInput, 'owner' | 'name' | 'checkSuiteId'> {
  checkSuiteId: number;
  appSlug: string;
}
type WorkflowRunState = Omit<FakeWorkflowRunInput, 'owner' | 'name'>;
interface RepoState {
  owner: string;
  name: string;
  fullName: string;
  id: number;
  private: boolean;
  defaultBranch: string;
  ownerId: number;
  ownerType: AccountType;
  permissions: Map<string, RepoPermission>;
  issues: Map<number, IssueState>;
  comments: CommentState[];
  pulls: Map<number, FakePull>;
  reviews: Map<number, ReviewState>;
  reviewComments: ReviewCommentState[];
  /** Keyed "issue:<n>", "comment:<id>" or "review-comment:<id>". */
  reactions: Map<string, ReactionState[]>;
  checkRuns: Map<number, CheckRunState>;
  workflowRuns: Map<number, WorkflowRunState>;
  jobLogs: Map<number, string>;
}
interface TokenState {
  token: string;
  installationId: number;
  /** The repositories it may use; null for all of the installation's. */
  repoIds: Set<number> | null;
  permissions: Record<string, string>;
  expired: boolean;
}
interface InstallationState extends FakeInstallationInput {
  createdAt: string;
}

interface Context {
  params: Record<string, string>;
  query: URLSearchParams;
  body: any;
  headers: IncomingMessage['headers'];
  /** The repository of a /repos/:owner/:repo route, already checked against the token. */
  repo: RepoState;
  token: TokenState | null;
}
interface Route {
  method: string;
  regex: RegExp;
  names: string[];
  /** 'jwt': the app itself; 'token': an installation token; 'none': anyone (signed log URLs). */
  auth: 'jwt' | 'token' | 'none';
  /** Any one of these (e.g. "issues:write" or "pull_requests:write") lets the token through. */
  needs: string[];
  handle: (ctx: Context) => Reply | Promise<Reply>;
}

/**
 * Compiles "/repos/:owner/:repo/issues/#number/comments" into a regex: ":x" is one segment, "#x"
 * a number, "*x" the rest of the path (may hold slashes, may be empty).
 */
function compile(template: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) return (names.push(segment.slice(1)), '([^/]+)');
      if (segment.startsWith('#')) return (names.push(segment.slice(1)), '(\\d+)');
      if (segment.startsWith('*')) return (names.push(segment.slice(1)), '?(.*)');
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { regex: new RegExp(`^${source}/?$`), names };
}

export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const { git } = options;
  const appSlug = options.appSlug ?? 'kodah';
  const appId = options.appId ?? 424242;
  const writeDelayMs = options.writeDelayMs ?? 15;
  const botLogin = `${appSlug}[bot]`;
  const bot: UserState = { login: botLogin, type: 'Bot' };

  const repos = new Map<string, RepoState>(); // by lower-case full name: GitHub ignores case
  const installations = new Map<number, InstallationState>();
  const tokens = new Map<string, TokenState>();
  const logBlobs = new Map<string, string>();
  const failures: Array<{ method: string; pattern: RegExp; reply: Reply; left: number }> = [];
  const userIds = new Map<string, number>();
  // The OAuth web flow: users who can sign in, codes handed out, and user tokens.
  const oauthUsers = new Map<string, { id: number; login: string; email: string | null; emailVerified: boolean }>();
  let lastOAuthUser: string | null = null;
  const oauthCodes = new Map<string, { login: string; redirectUri: string; used: boolean; expiresAt: number }>();
  const userAccessTokens = new Map<string, { login: string; expiresAt: number; revoked: boolean }>();
  const userRefreshTokens = new Map<string, { login: string; used: boolean; revoked: boolean }>();
  const userTokenLifetimeS = options.userTokenLifetimeS ?? 28800;
  const labelIds = new Map<string, number>();
  let nextUserId = 5000;
  let nextCommentId = 1000;
  let nextReactionId = 70000;
  let nextIssueId = 900000;
  let nextPullId = 800000;
  let nextSuiteId = 60000;
  let nextReviewId = 4_000_000;
  let nextReviewCommentId = 2_000_000;
  const writes: FakeWrite[] = [];
  const inFlight = new Map<number, number>(); // installation id -> writes in flight
  const maxInFlight = new Map<number, number>();
  let inFlightAll = 0;
  let maxInFlightAll = 0;

  let base = ''; // set once the server listens
  const apiRepo = (repo: RepoState) => `${base}/repos/${repo.fullName}`;
  const htmlRepo = (fullName: string) => `https://github.com/${fullName}`;

  const userId = (login: string) => {
    const key = login.toLowerCase();
    if (!userIds.has(key)) userIds.set(key, nextUserId++);
    return userIds.get(key)!;
  };
  const userJson = (user: UserState, id = userId(user.login)): Json => ({
    login: user.login,
    id,
    node_id: nodeId(user.type === 'Organization' ? 'O' : 'U', id),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: `${base}/users/${encodeURIComponent(user.login)}`,
    html_url:
      user.type === 'Bot' && user.login.endsWith('[bot]')
        ? `https://github.com/apps/${user.login.slice(0, -5)}`
        : `https://github.com/${user.login}`,
    type: user.type,
    site_admin: false,
  });
  const toUser = (input: FakeUserInput | undefined, fallback: UserState): UserState =>
    input ? { login: input.login, type: input.type ?? (input.login.endsWith('[bot]') ? 'Bot' : 'User') } : fallback;
  const appJson = (slug: string): Json => {
    const id = slug === appSlug ? appId : slug === 'github-actions' ? 15368 : userId(`app:${slug}`);
    return {
      id,
      slug,
      node_id: nodeId('A', id),
      name: slug === 'github-actions' ? 'GitHub Actions' : slug,
      owner: userJson({ login: slug === 'github-actions' ? 'github' : 'kodah-dev', type: 'Organization' }),
      description: '',
      external_url: `https://github.com/apps/${slug}`,
      html_url: `https://github.com/apps/${slug}`,
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
      permissions: {},
      events: [],
    };
  };

  const getRepo = (owner: string, name: string): RepoState | undefined => repos.get(`${owner}/${name}`.toLowerCase());
  const mustRepo = (owner: string, name: string): RepoState => {
    const repo = getRepo(owner, name);
    if (!repo) throw new Error(`fake GitHub: no repository ${owner}/${name} (addRepo it first)`);
    return repo;
  };
  const repoJson = (repo: RepoState): Json => ({
    id: repo.id,
    node_id: nodeId('R', repo.id),
    name: repo.name,
    full_name: repo.fullName,
    private: repo.private,
    visibility: repo.private ? 'private' : 'public',
    owner: userJson({ login: repo.owner, type: repo.ownerType }, repo.ownerId),
    html_url: htmlRepo(repo.fullName),
    description: null,
    fork: false,
    url: apiRepo(repo),
    clone_url: git.url(repo.fullName),
    git_url: `git://github.com/${repo.fullName}.git`,
    ssh_url: `git@github.com:${repo.fullName}.git`,
    default_branch: repo.defaultBranch,
    archived: false,
    disabled: false,
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
    pushed_at: '2024-01-01T00:00:00Z',
  });

  /** GitHub's author_association of a user on a repository. */
  const association = (repo: RepoState, login: string): string => {
    if (login.toLowerCase() === repo.owner.toLowerCase()) return 'OWNER';
    const permission = repo.permissions.get(login.toLowerCase());
    if (permission && ['admin', 'maintain', 'write'].includes(permission))
      return repo.ownerType === 'Organization' ? 'MEMBER' : 'COLLABORATOR';
    return 'NONE';
  };
  const labelJson = (repo: RepoState, name: string): Json => {
    if (!labelIds.has(name)) labelIds.set(name, 300000 + labelIds.size);
    const id = labelIds.get(name)!;
    return {
      id,
      node_id: nodeId('LA', id),
      url: `${apiRepo(repo)}/labels/${encodeURIComponent(name)}`,
      name,
      color: 'ededed',
      default: false,
      description: null,
    };
  };
  const reactionSummary = (repo: RepoState, key: string, url: string): Json => {
    const list = repo.reactions.get(key) ?? [];
    return Object.fromEntries([
      ['url', url],
      ['total_count', list.length],
      ...REACTIONS.map((content) => [content, list.filter((r) => r.content === content).length]),
    ]);
  };
  const issueJson = (repo: RepoState, issue: IssueState): Json => {
    const url = `${apiRepo(repo)}/issues/${issue.number}`;
    return {
      id: issue.id,
      node_id: nodeId(issue.isPull ? 'PR' : 'I', issue.id),
      url,
      repository_url: apiRepo(repo),
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments`,
      events_url: `${url}/events`,
      html_url: `${htmlRepo(repo.fullName)}/${issue.isPull ? 'pull' : 'issues'}/${issue.number}`,
      number: issue.number,
      state: issue.state,
      state_reason: issue.state === 'closed' ? 'completed' : null,
      title: issue.title,
      body: issue.body,
      user: userJson(issue.user),
      labels: issue.labels.map((name) => labelJson(repo, name)),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: repo.comments.filter((c) => c.issueNumber === issue.number).length,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      closed_at: issue.closedAt,
      author_association: association(repo, issue.user.login),
      reactions: reactionSummary(repo, `issue:${issue.number}`, `${url}/reactions`),
      // GitHub marks the issue side of a pull request with this key; plain issues lack it.
      ...(issue.isPull
        ? {
            pull_request: {
              url: `${apiRepo(repo)}/pulls/${issue.number}`,
              html_url: `${htmlRepo(repo.fullName)}/pull/${issue.number}`,
              diff_url: `${htmlRepo(repo.fullName)}/pull/${issue.number}.diff`,
              patch_url: `${htmlRepo(repo.fullName)}/pull/${issue.number}.patch`,
              merged_at: null,
            },
          }
        : {}),
    };
  };
  const commentJson = (repo: RepoState, comment: CommentState): Json => {
    const isPull = repo.issues.get(comment.issueNumber)?.isPull ?? false;
    const url = `${apiRepo(repo)}/issues/comments/${comment.id}`;
    return {
      id: comment.id,
      node_id: nodeId('IC', comment.id),
      url,
      html_url: `${htmlRepo(repo.fullName)}/${isPull ? 'pull' : 'issues'}/${comment.issueNumber}#issuecomment-${comment.id}`,
      issue_url: `${apiRepo(repo)}/issues/${comment.issueNumber}`,
      body: comment.body,
      user: userJson(comment.user),
      created_at: comment.createdAt,
      updated_at: comment.updatedAt,
      author_association: association(repo, comment.user.login),
      reactions: reactionSummary(repo, `comment:${comment.id}`, `${url}/reactions`),
      performed_via_github_app: comment.user.login === botLogin ? appJson(appSlug) : null,
    };
  };
  const reactionJson = (reaction: ReactionState): FakeReaction => ({
    id: reaction.id,
    node_id: nodeId('REA', reaction.id),
    content: reaction.content,
    user: userJson(reaction.user),
    created_at: reaction.createdAt,
  });

  const reviewJson = (repo: RepoState, review: ReviewState): Json => {
    const html = `${htmlRepo(repo.fullName)}/pull/${review.pullNumber}#pullrequestreview-${review.id}`;
    const pullUrl = `${apiRepo(repo)}/pulls/${review.pullNumber}`;
    return {
      id: review.id,
      node_id: nodeId('PRR_', review.id),
      user: userJson(review.user),
      body: review.body ?? '',
      state: review.state,
      html_url: html,
      pull_request_url: pullUrl,
      author_association: association(repo, review.user.login),
      _links: { html: { href: html }, pull_request: { href: pullUrl } },
      submitted_at: review.submittedAt,
      commit_id: review.commitId,
    };
  };
  const reviewCommentJson = (repo: RepoState, comment: ReviewCommentState): Json => {
    const url = `${apiRepo(repo)}/pulls/comments/${comment.id}`;
    const html = `${htmlRepo(repo.fullName)}/pull/${comment.pullNumber}#discussion_r${comment.id}`;
    const pullUrl = `${apiRepo(repo)}/pulls/${comment.pullNumber}`;
    return {
      url,
      pull_request_review_id: comment.reviewId,
      id: comment.id,
      node_id: nodeId('PRRC_', comment.id),
      diff_hunk: comment.diffHunk,
      path: comment.path,
      position: comment.line,
      original_position: comment.line,
      commit_id: comment.commitId,
      original_commit_id: comment.commitId,
      user: userJson(comment.user),
      body: comment.body,
      created_at: comment.createdAt,
      updated_at: comment.createdAt,
      html_url: html,
      pull_request_url: pullUrl,
      author_association: association(repo, comment.user.login),
      _links: { self: { href: url }, html: { href: html }, pull_request: { href: pullUrl } },
      start_line: comment.startLine,
      original_start_line: comment.startLine,
      start_side: comment.startLine === null ? null : 'RIGHT',
      line: comment.line,
      original_line: comment.line,
      side: 'RIGHT',
      subject_type: 'line',
      reactions: reactionSummary(repo, `review-comment:${comment.id}`, `${url}/reactions`),
    };
  };

  /** The live tip of a branch (pushes move it), or null. */
  const branchTip = (fullName: string, branch: string) =>
    gitOrNull(git.path(fullName), ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]);

  const pullJson = async (repo: RepoState, pull: FakePull): Promise<Json> => {
    const headRepo = repos.get(pull.head.repoFullName.toLowerCase());
    const headOwner = pull.head.repoFullName.split('/')[0] ?? repo.owner;
    const headSha = (pull.state === 'open' ? await branchTip(pull.head.repoFullName, pull.head.ref) : null) ?? pull.head.sha;
    const baseSha = (await branchTip(repo.fullName, pull.base.ref)) ?? '';
    const url = `${apiRepo(repo)}/pulls/${pull.number}`;
    const html = `${htmlRepo(repo.fullName)}/pull/${pull.number}`;
    const issue = repo.issues.get(pull.number);
    const owner = userJson({ login: repo.owner, type: repo.ownerType }, repo.ownerId);
    return {
      url,
      id: pull.id,
      node_id: nodeId('PR_', pull.id),
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: `${apiRepo(repo)}/issues/${pull.number}`,
      commits_url: `${url}/commits`,
      review_comments_url: `${url}/comments`,
      comments_url: `${apiRepo(repo)}/issues/${pull.number}/comments`,
      statuses_url: `${apiRepo(repo)}/statuses/${headSha}`,
      number: pull.number,
      state: pull.state,
      locked: false,
      title: pull.title,
      user: userJson(pull.user),
      body: pull.body,
      labels: (issue?.labels ?? []).map((name) => labelJson(repo, name)),
      milestone: null,
      active_lock_reason: null,
      created_at: pull.createdAt,
      updated_at: pull.updatedAt,
      closed_at: issue?.closedAt ?? null,
      merged_at: null,
      merge_commit_sha: null,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      head: {
        label: `${headOwner}:${pull.head.ref}`,
        ref: pull.head.ref,
        sha: headSha,
        user: headRepo
          ? userJson({ login: headRepo.owner, type: headRepo.ownerType }, headRepo.ownerId)
          : userJson({ login: headOwner, type: 'User' }),
        repo: headRepo ? repoJson(headRepo) : { full_name: pull.head.repoFullName, name: pull.head.repoFullName.split('/')[1], id: 0 },
      },
      base: { label: `${repo.owner}:${pull.base.ref}`, ref: pull.base.ref, sha: baseSha, user: owner, repo: repoJson(repo) },
      author_association: association(repo, pull.user.login),
      auto_merge: null,
      draft: pull.draft,
      merged: false,
      mergeable: null,
      rebaseable: null,
      mergeable_state: 'unknown',
      maintainer_can_modify: pull.maintainerCanModify,
      comments: repo.comments.filter((c) => c.issueNumber === pull.number).length,
      review_comments: repo.reviewComments.filter((c) => c.pullNumber === pull.number).length,
    };
  };

  const checkRunJson = (repo: RepoState, run: CheckRunState): Json => {
    const url = `${apiRepo(repo)}/check-runs/${run.id}`;
    // A GitHub Actions job's check run shares the job's id and links to the job's page.
    const workflowRun = [...repo.workflowRuns.values()].find((w) => w.jobs.some((job) => job.id === run.id));
    const detailsUrl =
      run.detailsUrl ??
      (workflowRun
        ? `${htmlRepo(repo.fullName)}/actions/runs/${workflowRun.id}/job/${run.id}`
        : `${htmlRepo(repo.fullName)}/runs/${run.id}`);
    const status = run.status ?? 'completed';
    return {
      id: run.id,
      head_sha: run.headSha,
      node_id: nodeId('CR_', run.id),
      external_id: run.externalId ?? '',
      url,
      html_url: `${htmlRepo(repo.fullName)}/runs/${run.id}`,
      details_url: detailsUrl,
      status,
      conclusion: status === 'completed' ? (run.conclusion ?? 'failure') : null,
      started_at: '2024-01-01T00:00:00Z',
      completed_at: status === 'completed' ? '2024-01-01T00:01:00Z' : null,
      output: {
        title: run.output.title,
        summary: run.output.summary,
        text: run.output.text ?? null,
        annotations_count: run.annotations?.length ?? 0,
        annotations_url: `${url}/annotations`,
      },
      name: run.checkName,
      check_suite: { id: run.checkSuiteId },
      app: appJson(run.appSlug),
      pull_requests: [],
    };
  };
  const jobJson = (repo: RepoState, run: WorkflowRunState, job: FakeWorkflowRunInput['jobs'][number]): Json => ({
    id: job.id,
    run_id: run.id,
    run_url: `${apiRepo(repo)}/actions/runs/${run.id}`,
    run_attempt: 1,
    node_id: nodeId('CR_', job.id),
    head_sha: run.headSha,
    head_branch: run.headBranch ?? null,
    url: `${apiRepo(repo)}/actions/jobs/${job.id}`,
    html_url: `${htmlRepo(repo.fullName)}/actions/runs/${run.id}/job/${job.id}`,
    status: 'completed',
    conclusion: job.conclusion,
    created_at: '2024-01-01T00:00:00Z',
    started_at: '2024-01-01T00:00:00Z',
    completed_at: '2024-01-01T00:01:00Z',
    name: job.name,
    steps: (job.steps ?? []).map((step, index) => ({
      name: step.name,
      status: 'completed',
      conclusion: step.conclusion,
      number: index + 1,
      started_at: '2024-01-01T00:00:00Z',
      completed_at: '2024-01-01T00:01:00Z',
    })),
    check_run_url: `${apiRepo(repo)}/check-runs/${job.id}`,
    labels: ['ubuntu-latest'],
    runner_id: 1,
    runner_name: 'GitHub Actions 1',
    runner_group_id: 2,
    runner_group_name: 'GitHub Actions',
    workflow_name: run.workflowName ?? 'CI',
  });
  const workflowRunJson = (repo: RepoState, run: WorkflowRunState): Json => ({
    id: run.id,
    name: run.workflowName ?? 'CI',
    node_id: nodeId('WFR_', run.id),
    head_branch: run.headBranch ?? null,
    head_sha: run.headSha,
    run_number: 1,
    run_attempt: 1,
    event: 'pull_request',
    status: 'completed',
    conclusion:
      run.conclusion !== undefined ? run.conclusion : run.jobs.some((job) => job.conclusion === 'failure') ? 'failure' : 'success',
    url: `${apiRepo(repo)}/actions/runs/${run.id}`,
    html_url: `${htmlRepo(repo.fullName)}/actions/runs/${run.id}`,
    jobs_url: `${apiRepo(repo)}/actions/runs/${run.id}/jobs`,
    logs_url: `${apiRepo(repo)}/actions/runs/${run.id}/logs`,
    check_suite_url: `${apiRepo(repo)}/check-suites/${run.id}`,
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:01:00Z',
    repository: repoJson(repo),
  });

  /**
   * GitHub's pagination: `per_page` (default 30, at most 100) and `page`, with a `link` header
   * naming the next, last, first and prev pages (octokit.paginate follows rel="next").
   */
  const paginate = <T>(items: T[], path: string, query: URLSearchParams): { page: T[]; headers: Record<string, string> } => {
    const perPage = Math.min(100, Math.max(1, Number(query.get('per_page')) || 30));
    const page = Math.max(1, Number(query.get('page')) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const pageUrl = (n: number) => {
      const params = new URLSearchParams(query);
      params.set('per_page', String(perPage));
      params.set('page', String(n));
      return `<${base}${path}?${params}>`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`${pageUrl(page - 1)}; rel="prev"`);
    if (page < last) links.push(`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(last)}; rel="last"`);
    if (page > 1) links.push(`${pageUrl(1)}; rel="first"`);
    return { page: items.slice((page - 1) * perPage, page * perPage), headers: links.length ? { link: links.join(', ') } : {} };
  };
  const listReply = <T>(items: T[], path: string, query: URLSearchParams, wrap?: (page: T[]) => Json): Reply => {
    const { page, headers } = paginate(items, path, query);
    return { status: 200, headers, body: wrap ? wrap(page) : page };
  };

  const issueOf = (repo: RepoState, number: string) => repo.issues.get(Number(number));
  const commentOf = (repo: RepoState, id: string) => repo.comments.find((c) => c.id === Number(id));
  const installationCovers = (installation: InstallationState, repo: RepoState) =>
    !installation.repositoryIds || installation.repositoryIds.includes(repo.id);

  // ---- routes -------------------------------------------------------------------------------
  const routes: Route[] = [];
  const on = (method: string, template: string, auth: Route['auth'], needs: string[], handle: Route['handle']) =>
    routes.push({ method, ...compile(template), auth, needs, handle });

  // ---- signing in with GitHub (the OAuth web flow of a GitHub App) ----------------------------------
  // GitHub serves these under its web host (GITHUB_URL), not the API: here both are this server.
  const alnum = (n: number) => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    return [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
  };
  const oauthError = (error: string, description: string): Reply => ({
    // GitHub answers refusals of the token endpoint with 200 and an error field.
    status: 200,
    body: { error, error_description: description, error_uri: `${DOCS}/apps/oauth#${error}` },
  });
  const cookieValue = (headers: IncomingMessage['headers'], name: string) =>
    (headers.cookie ?? '')
      .split(';')
      .map((c) => c.trim().split('='))
      .find(([k]) => k === name)?.[1];
  const issueUserTokens = (login: string): Json => {
    const access = `ghu_${alnum(36)}`;
    const refresh = `ghr_${alnum(76)}`;
    userAccessTokens.set(access, { login, expiresAt: Date.now() + userTokenLifetimeS * 1000, revoked: false });
    userRefreshTokens.set(refresh, { login, used: false, revoked: false });
    return {
      access_token: access,
      expires_in: userTokenLifetimeS,
      refresh_token: refresh,
      refresh_token_expires_in: 15897600,
      scope: '',
      token_type: 'bearer',
    };
  };
  on('GET', '/login/oauth/authorize', 'none', [], ({ query, headers }) => {
    if (query.get('client_id') !== FAKE_OAUTH_CLIENT_ID) return notFound();
    const redirectUri = query.get('redirect_uri');
    if (!redirectUri || !/^https?:\/\//.test(redirectUri)) return { status: 400, body: { message: 'redirect_uri is not valid' } };
    const login = decodeURIComponent(cookieValue(headers, FAKE_GITHUB_USER_COOKIE) ?? '') || lastOAuthUser;
    const user = login ? oauthUsers.get(login.toLowerCase()) : undefined;
    if (!user) return { status: 401, body: { message: 'fake GitHub: nobody is signed in (addOAuthUser first)' } };
    const code = alnum(20);
    oauthCodes.set(code, { login: user.login, redirectUri, used: false, expiresAt: Date.now() + 600_000 });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    const state = query.get('state');
    if (state !== null) back.searchParams.set('state', state);
    return { status: 302, headers: { location: back.toString() }, body: '' };
  });
  on('POST', '/login/oauth/access_token', 'none', [], ({ body, headers }) => {
    const b: Record<string, unknown> = body && typeof body === 'object' ? body : {};
    const reply = (r: Reply): Reply => {
      // Without `accept: application/json` GitHub answers form-encoded.
      if (r.status !== 200 || /json/.test(String(headers.accept ?? ''))) return r;
      const form = new URLSearchParams(Object.entries(r.body as Json).map(([k, v]): [string, string] => [k, String(v)])).toString();
      return { status: 200, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: form };
    };
    if (b.client_id !== FAKE_OAUTH_CLIENT_ID || b.client_secret !== FAKE_OAUTH_CLIENT_SECRET)
      return reply(oauthError('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.'));
    if (b.grant_type === 'refresh_token') {
      const refresh = userRefreshTokens.get(String(b.refresh_token ?? ''));
      if (!refresh || refresh.used || refresh.revoked)
        return reply(oauthError('bad_refresh_token', 'The refresh token passed is incorrect or expired.'));
      refresh.used = true;
      return reply({ status: 200, body: issueUserTokens(refresh.login) });
    }
    const code = oauthCodes.get(String(b.code ?? ''));
    if (!code || code.used || code.expiresAt < Date.now())
      return reply(oauthError('bad_verification_code', 'The code passed is incorrect or expired.'));
    // A code works once, even when the request that uses it fails.
    code.used = true;
    if (b.redirect_uri !== undefined && b.redirect_uri !== code.redirectUri)
      return reply(oauthError('redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.'));
    return reply({ status: 200, body: issueUserTokens(code.login) });
  });
  const userOfToken = (headers: IncomingMessage['headers']) => {
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(headers.authorization ?? '');
    const grant = match ? userAccessTokens.get(match[1]!) : undefined;
    return grant && !grant.revoked && grant.expiresAt > Date.now() ? oauthUsers.get(grant.login.toLowerCase()) : undefined;
  };
  const badCredentials: Reply = { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS } };
  on('GET', '/user', 'none', [], ({ headers }) => {
    const user = userOfToken(headers);
    if (!user) return badCredentials;
    return { status: 200, body: { ...userJson({ login: user.login, type: 'User' }, user.id), name: null, email: null } };
  });
  on('GET', '/user/emails', 'none', [], ({ headers }) => {
    const user = userOfToken(headers);
    if (!user) return badCredentials;
    const primary = user.email ? [{ email: user.email, primary: true, verified: user.emailVerified, visibility: 'private' }] : [];
    return {
      status: 200,
      body: [
        ...primary,
        { email: `${user.id}+${user.login}@users.noreply.github.com`, primary: false, verified: true, visibility: null },
        { email: `unverified-${user.login}@example.org`, primary: false, verified: false, visibility: null },
      ],
    };
  });

  // The app, authenticated with its JWT.
  on('GET', '/app', 'jwt', [], () => ({ status: 200, body: { ...appJson(appSlug), installations_count: installations.size } }));
  const installationJson = (installation: InstallationState): Json => ({
    id: installation.id,
    account: userJson({ login: installation.account.login, type: installation.account.type }, installation.account.id),
    repository_selection: installation.repositoryIds ? 'selected' : 'all',
    access_tokens_url: `${base}/app/installations/${installation.id}/access_tokens`,
    repositories_url: `${base}/installation/repositories`,
    html_url: `https://github.com/settings/installations/${installation.id}`,
    app_id: appId,
    app_slug: appSlug,
    target_id: installation.account.id,
    target_type: installation.account.type,
    permissions: installation.permissions ?? DEFAULT_PERMISSIONS,
    events: ['issues', 'issue_comment', 'pull_request', 'check_run', 'workflow_run'],
    created_at: installation.createdAt,
    updated_at: installation.createdAt,
    single_file_name: null,
    suspended_at: null,
  });
  on('GET', '/app/installations', 'jwt', [], () => ({ status: 200, body: [...installations.values()].map(installationJson) }));
  on('GET', '/app/installations/#id', 'jwt', [], ({ params }) => {
    const installation = installations.get(Number(params.id));
    return installation ? { status: 200, body: installationJson(installation) } : notFound();
  });
  on('GET', '/repos/:owner/:repo/installation', 'jwt', [], ({ params }) => {
    const repo = getRepo(params.owner!, params.repo!);
    const installation = repo && [...installations.values()].find((i) => installationCovers(i, repo));
    return installation ? { status: 200, body: installationJson(installation) } : notFound();
  });

  on('POST', '/app/installations/#id/access_tokens', 'jwt', [], ({ params, body }) => {
    const installation = installations.get(Number(params.id));
    if (!installation) return notFound();
    const granted = installation.permissions ?? DEFAULT_PERMISSIONS;
    const requestedIds: number[] = Array.isArray(body?.repository_ids) ? body.repository_ids.map(Number) : [];
    const requestedNames: string[] = Array.isArray(body?.repositories) ? body.repositories.map(String) : [];
    const inaccessible = {
      status: 422,
      body: {
        message: 'There is at least one repository that does not exist or is not accessible to the parent installation.',
        documentation_url: DOCS,
      },
    };
    // Names in `repositories` are bare names within the installation's account, as on GitHub.
    const scoped: RepoState[] = [];
    for (const id of requestedIds) {
      const repo = [...repos.values()].find((r) => r.id === id);
      if (!repo || !installationCovers(installation, repo)) return inaccessible;
      scoped.push(repo);
    }
    for (const name of requestedNames) {
      const repo = getRepo(installation.account.login, name);
      if (!repo || !installationCovers(installation, repo)) return inaccessible;
      if (!scoped.includes(repo)) scoped.push(repo);
    }
    const requestedPermissions: Record<string, string> | undefined = body?.permissions;
    if (requestedPermissions) {
      for (const [name, level] of Object.entries(requestedPermissions)) {
        const have = LEVEL[(granted[name] ?? 'none') as keyof typeof LEVEL] ?? 0;
        if ((LEVEL[level as keyof typeof LEVEL] ?? 99) > have)
          return {
            status: 422,
            body: { message: 'The permissions requested are not granted to this installation.', documentation_url: DOCS },
          };
      }
    }
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const token = `ghs_${[...randomBytes(36)].map((b) => alphabet[b % alphabet.length]).join('')}`;
    const permissions: Record<string, string> = requestedPermissions ? { metadata: 'read', ...requestedPermissions } : { ...granted };
    const isScoped = requestedIds.length > 0 || requestedNames.length > 0;
    const covered = isScoped ? scoped : [...repos.values()].filter((r) => installationCovers(installation, r));
    tokens.set(token, {
      token,
      installationId: installation.id,
      repoIds: isScoped ? new Set(scoped.map((r) => r.id)) : null,
      permissions,
      expired: false,
    });
    // The same token clones over git for the same repositories (x-access-token:<token>), and
    // pushes only when it has contents: write.
    git.allowToken(
      token,
      covered.map((r) => r.fullName),
      { push: (LEVEL[(permissions.contents ?? 'none') as keyof typeof LEVEL] ?? 0) >= LEVEL.write },
    );
    state.tokens.push({
      token,
      installationId: installation.id,
      ...(body?.repository_ids ? { repositoryIds: requestedIds } : {}),
      ...(body?.repositories ? { repositories: requestedNames } : {}),
      ...(requestedPermissions ? { permissions: requestedPermissions } : {}),
    });
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        permissions,
        repository_selection: isScoped || installation.repositoryIds ? 'selected' : 'all',
        ...(isScoped ? { repositories: scoped.map(repoJson) } : {}),
      },
    };
  });

  // Installation-token routes.
  on('GET', '/installation/repositories', 'token', [], ({ token, query }) => {
    const installation = installations.get(token!.installationId)!;
    const visible = [...repos.values()].filter((r) => installationCovers(installation, r) && (!token!.repoIds || token!.repoIds.has(r.id)));
    return listReply(visible.map(repoJson), '/installation/repositories', query, (page) => ({
      total_count: visible.length,
      repository_selection: 'selected',
      repositories: page,
    }));
  });

  on('GET', '/repos/:owner/:repo', 'token', ['metadata:read'], ({ repo }) => ({ status: 200, body: repoJson(repo) }));

  on('GET', '/repos/:owner/:repo/contents/*path', 'token', ['contents:read'], async ({ repo, params, query, headers }) => {
    const ref = query.get('ref') || repo.defaultBranch;
    const gitDir = git.path(repo.fullName);
    const commit = await gitOrNull(gitDir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    if (!commit) return notFound(`No commit found for the ref ${ref}`);
    const filePath = (params.path ?? '').replace(/^\/+|\/+$/g, '');
    const entryJson = (type: string, sha: string, size: number, entryPath: string): Json => {
      const self = `${apiRepo(repo)}/contents/${entryPath}?ref=${encodeURIComponent(ref)}`;
      const html = `${htmlRepo(repo.fullName)}/${type === 'dir' ? 'tree' : 'blob'}/${ref}/${entryPath}`;
      const gitUrl = `${apiRepo(repo)}/git/${type === 'dir' ? 'trees' : 'blobs'}/${sha}`;
      return {
        type,
        size,
        name: entryPath.split('/').pop() ?? '',
        path: entryPath,
        sha,
        url: self,
        git_url: gitUrl,
        html_url: html,
        download_url: type === 'file' ? `https://raw.githubusercontent.com/${repo.fullName}/${ref}/${entryPath}` : null,
        _links: { self, git: gitUrl, html },
      };
    };
    const parseTree = (raw: string) =>
      raw
        .split('\0')
        .filter(Boolean)
        .map((line) => {
          const [meta = '', name = ''] = line.split('\t');
          const [mode = '', type = '', sha = '', size = '0'] = meta.split(/ +/);
          const kind = type === 'tree' ? 'dir' : type === 'commit' ? 'submodule' : mode === '120000' ? 'symlink' : 'file';
          return { kind, sha, size: Number(size) || 0, name };
        });
    const listing = async (treeish: string, prefix: string) =>
      parseTree(await gitAsync(gitDir, ['ls-tree', '-z', '-l', treeish])).map((e) =>
        entryJson(e.kind, e.sha, e.size, prefix ? `${prefix}/${e.name}` : e.name),
      );
    if (!filePath) return { status: 200, body: await listing(commit, '') };
    const [entry] = parseTree(await gitAsync(gitDir, ['ls-tree', '-z', '-l', commit, '--', filePath]));
    if (!entry || entry.name !== filePath) return notFound();
    if (entry.kind === 'dir') return { status: 200, body: await listing(`${commit}:${filePath}`, filePath) };
    const content = await gitBuffer(gitDir, ['cat-file', 'blob', entry.sha]);
    // application/vnd.github.raw (octokit's mediaType: { format: 'raw' }) asks for the bytes themselves.
    if (/\.raw\b|vnd\.github\.raw/.test(String(headers.accept ?? '')))
      return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: content };
    // GitHub wraps the base64 at 60 characters; clients must decode it with the newlines.
    const base64 = content.toString('base64').replace(/.{60}/g, '$&\n');
    return {
      status: 200,
      body: {
        ...entryJson('file', entry.sha, content.length, filePath),
        content: base64.endsWith('\n') ? base64 : `${base64}\n`,
        encoding: 'base64',
      },
    };
  });

  on('GET', '/repos/:owner/:repo/collaborators/:user/permission', 'token', ['metadata:read'], ({ repo, params }) => {
    const login = params.user!;
    const role: RepoPermission = repo.permissions.get(login.toLowerCase()) ?? 'read';
    // The old `permission` field only knows admin/write/read/none; `role_name` has the finer role.
    const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
    const rank = ['none', 'read', 'triage', 'write', 'maintain', 'admin'].indexOf(role);
    return {
      status: 200,
      body: {
        permission,
        role_name: role,
        user: {
          ...userJson({ login, type: login.endsWith('[bot]') ? 'Bot' : 'User' }),
          permissions: { admin: rank >= 5, maintain: rank >= 4, push: rank >= 3, triage: rank >= 2, pull: rank >= 1 },
          role_name: role,
        },
      },
    };
  });

  // Issues and their comments. GitHub lets either permission through for a pull request's issue.
  const issuesRead = ['issues:read', 'pull_requests:read'];
  const issuesWrite = ['issues:write', 'pull_requests:write'];
  on('GET', '/repos/:owner/:repo/issues/#number', 'token', issuesRead, ({ repo, params }) => {
    const issue = issueOf(repo, params.number!);
    return issue ? { status: 200, body: issueJson(repo, issue) } : notFound();
  });
  on('PATCH', '/repos/:owner/:repo/issues/#number', 'token', issuesWrite, ({ repo, params, body }) => {
    const issue = issueOf(repo, params.number!);
    if (!issue) return notFound();
    if (typeof body?.title === 'string') issue.title = body.title;
    if (body?.body !== undefined) issue.body = body.body;
    if (Array.isArray(body?.labels)) issue.labels = body.labels.map((l: unknown) => (typeof l === 'string' ? l : String((l as Json).name)));
    if (body?.state === 'open' || body?.state === 'closed') {
      issue.state = body.state;
      issue.closedAt = body.state === 'closed' ? isoNow() : null;
      const pull = repo.pulls.get(issue.number);
      if (pull) pull.state = body.state;
    }
    issue.updatedAt = isoNow();
    return { status: 200, body: issueJson(repo, issue) };
  });
  on('POST', '/repos/:owner/:repo/issues/#number/labels', 'token', issuesWrite, ({ repo, params, body }) => {
    const issue = issueOf(repo, params.number!);
    if (!issue) return notFound();
    const names: unknown[] = Array.isArray(body) ? body : Array.isArray(body?.labels) ? body.labels : [];
    for (const name of names.map((n) => (typeof n === 'string' ? n : String((n as Json).name))))
      if (!issue.labels.includes(name)) issue.labels.push(name);
    return { status: 200, body: issue.labels.map((name) => labelJson(repo, name)) };
  });
  on('DELETE', '/repos/:owner/:repo/issues/#number/labels/:name', 'token', issuesWrite, ({ repo, params }) => {
    const issue = issueOf(repo, params.number!);
    if (!issue) return notFound();
    const name = params.name!;
    if (!issue.labels.includes(name)) return notFound('Label does not exist');
    issue.labels = issue.labels.filter((l) => l !== name);
    return { status: 200, body: issue.labels.map((l) => labelJson(repo, l)) };
  });
  on('GET', '/repos/:owner/:repo/issues/#number/comments', 'token', issuesRead, ({ repo, params, query }) => {
    const issue = issueOf(repo, params.number!);
    if (!issue) return notFound();
    const list = repo.comments.filter((c) => c.issueNumber === issue.number).map((c) => commentJson(repo, c));
    return listReply(list, `/repos/${repo.fullName}/issues/${issue.number}/comments`, query);
  });
  on('POST', '/repos/:owner/:repo/issues/#number/comments', 'token', issuesWrite, ({ repo, params, body }) => {
    const issue = issueOf(repo, params.number!);
    if (!issue) return notFound();
    if (typeof body?.body !== 'string' || !body.body)
      return validationFailed([{ resource: 'IssueComment', code: 'missing_field', field: 'body' }]);
    const now = isoNow();
    const comment: CommentState = {
      id: nextCommentId++,
      issueNumber: issue.number,
      body: body.body,
      user: bot,
      createdAt: now,
      updatedAt: now,
    };
    repo.comments.push(comment);
    return { status: 201, headers: { location: `${apiRepo(repo)}/issues/comments/${comment.id}` }, body: commentJson(repo, comment) };
  });
  on('GET', '/repos/:owner/:repo/issues/comments/#id', 'token', issuesRead, ({ repo, params }) => {
    const comment = commentOf(repo, params.id!);
    return comment ? { status: 200, body: commentJson(repo, comment) } : notFound();
  });
  on('PATCH', '/repos/:owner/:repo/issues/comments/#id', 'token', issuesWrite, ({ repo, params, body }) => {
    const comment = commentOf(repo, params.id!);
    if (!comment) return notFound();
    if (typeof body?.body !== 'string' || !body.body)
      return validationFailed([{ resource: 'IssueComment', code: 'missing_field', field: 'body' }]);
    comment.body = body.body;
    comment.updatedAt = isoNow();
    return { status: 200, body: commentJson(repo, comment) };
  });

  // Reactions: a user has at most one reaction of each kind on a target; reacting again answers
  // the existing one with 200 instead of 201.
  const react = (repo: RepoState, key: string, content: unknown): Reply => {
    if (typeof content !== 'string' || !REACTIONS.includes(content))
      return validationFailed([{ resource: 'Reaction', code: 'invalid', field: 'content' }]);
    const list = repo.reactions.get(key) ?? [];
    repo.reactions.set(key, list);
    const existing = list.find((r) => r.content === content && r.user.login === bot.login);
    if (existing) return { status: 200, body: reactionJson(existing) };
    const reaction: ReactionState = { id: nextReactionId++, content, user: bot, createdAt: isoNow() };
    list.push(reaction);
    return { status: 201, body: reactionJson(reaction) };
  };
  const listReactions = (repo: RepoState, key: string, path: string, query: URLSearchParams): Reply => {
    const content = query.get('content');
    const list = (repo.reactions.get(key) ?? []).filter((r) => !content || r.content === content).map(reactionJson);
    return listReply(list, path, query);
  };
  on('POST', '/repos/:owner/:repo/issues/#number/reactions', 'token', issuesWrite, ({ repo, params, body }) =>
    issueOf(repo, params.number!) ? react(repo, `issue:${params.number}`, body?.content) : notFound(),
  );
  on('GET', '/repos/:owner/:repo/issues/#number/reactions', 'token', issuesRead, ({ repo, params, query }) =>
    issueOf(repo, params.number!)
      ? listReactions(repo, `issue:${params.number}`, `/repos/${repo.fullName}/issues/${params.number}/reactions`, query)
      : notFound(),
  );
  on('POST', '/repos/:owner/:repo/issues/comments/#id/reactions', 'token', issuesWrite, ({ repo, params, body }) =>
    commentOf(repo, params.id!) ? react(repo, `comment:${params.id}`, body?.content) : notFound(),
  );
  on('GET', '/repos/:owner/:repo/issues/comments/#id/reactions', 'token', issuesRead, ({ repo, params, query }) =>
    commentOf(repo, params.id!)
      ? listReactions(repo, `comment:${params.id}`, `/repos/${repo.fullName}/issues/comments/${params.id}/reactions`, query)
      : notFound(),
  );

  // Pull requests.
  on('GET', '/repos/:owner/:repo/pulls', 'token', ['pull_requests:read'], async ({ repo, query }) => {
    const state = query.get('state') ?? 'open';
    const head = query.get('head');
    const baseRef = query.get('base');
    let list = [...repo.pulls.values()].filter((p) => state === 'all' || p.state === state);
    // Like GitHub, `head` filters only in its "owner:branch" form; a bare branch name is ignored.
    if (head?.includes(':')) {
      const [headOwner = '', ...rest] = head.split(':');
      const ref = rest.join(':');
      list = list.filter((p) => p.head.ref === ref && (p.head.repoFullName.split('/')[0] ?? '').toLowerCase() === headOwner.toLowerCase());
    }
    if (baseRef) list = list.filter((p) => p.base.ref === baseRef);
    list.sort((a, b) => (query.get('direction') === 'asc' ? a.number - b.number : b.number - a.number));
    const { page, headers } = paginate(list, `/repos/${repo.fullName}/pulls`, query);
    return { status: 200, headers, body: await Promise.all(page.map((p) => pullJson(repo, p))) };
  });
  on('GET', '/repos/:owner/:repo/pulls/#number', 'token', ['pull_requests:read'], async ({ repo, params }) => {
    const pull = repo.pulls.get(Number(params.number));
    return pull ? { status: 200, body: await pullJson(repo, pull) } : notFound();
  });
  on('POST', '/repos/:owner/:repo/pulls', 'token', ['pull_requests:write'], async ({ repo, body }) => {
    const doc = 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request';
    if (typeof body?.head !== 'string' || !body.head)
      return validationFailed([{ resource: 'PullRequest', code: 'missing_field', field: 'head' }], doc);
    if (typeof body?.base !== 'string' || !body.base)
      return validationFailed([{ resource: 'PullRequest', code: 'missing_field', field: 'base' }], doc);
    if (typeof body?.title !== 'string' || !body.title)
      return validationFailed([{ resource: 'PullRequest', code: 'missing_field', field: 'title' }], doc);
    // "branch" or "owner:branch"; another owner means a fork with the same name (or head_repo).
    const [headOwner, headRef] = body.head.includes(':')
      ? [body.head.split(':')[0] as string, body.head.split(':').slice(1).join(':')]
      : [repo.owner, body.head as string];
    const headRepo =
      headOwner.toLowerCase() === repo.owner.toLowerCase()
        ? repo
        : (getRepo(headOwner, typeof body.head_repo === 'string' ? body.head_repo.split('/').pop()! : repo.name) ?? null);
    const headSha = headRepo ? await branchTip(headRepo.fullName, headRef) : null;
    if (!headRepo || !headSha) return validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }], doc);
    const baseSha = await branchTip(repo.fullName, body.base);
    if (!baseSha) return validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }], doc);
    const duplicate = [...repo.pulls.values()].find(
      (p) =>
        p.state === 'open' &&
        p.head.ref === headRef &&
        p.head.repoFullName.toLowerCase() === headRepo.fullName.toLowerCase() &&
        p.base.ref === body.base,
    );
    if (duplicate)
      return validationFailed(
        [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${headRepo.owner}:${headRef}.` }],
        doc,
      );
    if (headRepo === repo && (await gitAsync(git.path(repo.fullName), ['rev-list', '--count', `${baseSha}..${headSha}`])).trim() === '0')
      return validationFailed(
        [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${body.base} and ${headRef}` }],
        doc,
      );
    const number = Math.max(0, ...repo.issues.keys(), ...repo.pulls.keys()) + 1;
    const now = isoNow();
    const pull: FakePull = {
      id: nextPullId++,
      number,
      title: body.title,
      body: typeof body.body === 'string' ? body.body : null,
      head: { ref: headRef, sha: headSha, repoFullName: headRepo.fullName },
      base: { ref: body.base },
      draft: body.draft === true,
      state: 'open',
      user: bot,
      maintainerCanModify: body.maintainer_can_modify !== false,
      createdThroughApi: true,
      createdAt: now,
      updatedAt: now,
    };
    repo.pulls.set(number, pull);
    repo.issues.set(number, {
      id: nextIssueId++,
      number,
      title: pull.title,
      body: pull.body,
      user: bot,
      labels: [],
      state: 'open',
      isPull: true,
      createdAt: now,
      updatedAt: now,
      closedAt: null,
    });
    return { status: 201, headers: { location: `${apiRepo(repo)}/pulls/${number}` }, body: await pullJson(repo, pull) };
  });
  // The pull requests whose head holds a commit (any state; same-repository heads are followed in
  // git, a fork's only by its head sha).
  on('GET', '/repos/:owner/:repo/commits/:sha/pulls', 'token', ['pull_requests:read'], async ({ repo, params, query }) => {
    const gitDir = git.path(repo.fullName);
    const sha = await gitOrNull(gitDir, ['rev-parse', '--verify', '--quiet', `${params.sha}^{commit}`]);
    if (!sha) return { status: 422, body: { message: `No commit found for SHA: ${params.sha}`, documentation_url: DOCS } };
    const holding: FakePull[] = [];
    for (const pull of [...repo.pulls.values()].sort((a, b) => b.number - a.number)) {
      const tip = (pull.state === 'open' ? await branchTip(pull.head.repoFullName, pull.head.ref) : null) ?? pull.head.sha;
      if (tip === sha) holding.push(pull);
      else if (pull.head.repoFullName.toLowerCase() === repo.fullName.toLowerCase()) {
        const contains = await execFileAsync('git', ['--git-dir', gitDir, 'merge-base', '--is-ancestor', sha, tip], { env: GIT_ENV }).then(
          () => true,
          () => false,
        );
        if (contains) holding.push(pull);
      }
    }
    const { page, headers } = paginate(holding, `/repos/${repo.fullName}/commits/${encodeURIComponent(params.sha!)}/pulls`, query);
    return { status: 200, headers, body: await Promise.all(page.map((p) => pullJson(repo, p))) };
  });
  on('PATCH', '/repos/:owner/:repo/pulls/#number', 'token', ['pull_requests:write'], async ({ repo, params, body }) => {
    const pull = repo.pulls.get(Number(params.number));
    if (!pull) return notFound();
    if (typeof body?.base === 'string' && !(await branchTip(repo.fullName, body.base)))
      return validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
    const issue = repo.issues.get(pull.number);
    if (typeof body?.title === 'string') pull.title = body.title;
    if (body?.body !== undefined) pull.body = body.body;
    if (typeof body?.base === 'string') pull.base.ref = body.base;
    if (typeof body?.maintainer_can_modify === 'boolean') pull.maintainerCanModify = body.maintainer_can_modify;
    if (body?.state === 'open' || body?.state === 'closed') pull.state = body.state;
    pull.updatedAt = isoNow();
    if (issue)
      Object.assign(issue, {
        title: pull.title,
        body: pull.body,
        state: pull.state,
        updatedAt: pull.updatedAt,
        closedAt: pull.state === 'closed' ? pull.updatedAt : null,
      });
    return { status: 200, body: await pullJson(repo, pull) };
  });

  // Reviews and their inline comments (submitted ones only: a pending review is not seen by an app).
  const reviewOf = (repo: RepoState, pullNumber: string, id: string) => {
    const review = repo.reviews.get(Number(id));
    return review && review.pullNumber === Number(pullNumber) ? review : undefined;
  };
  on('GET', '/repos/:owner/:repo/pulls/#number/reviews', 'token', ['pull_requests:read'], ({ repo, params, query }) => {
    if (!repo.pulls.has(Number(params.number))) return notFound();
    const list = [...repo.reviews.values()].filter((r) => r.pullNumber === Number(params.number)).map((r) => reviewJson(repo, r));
    return listReply(list, `/repos/${repo.fullName}/pulls/${params.number}/reviews`, query);
  });
  on('GET', '/repos/:owner/:repo/pulls/#number/reviews/#id', 'token', ['pull_requests:read'], ({ repo, params }) => {
    const review = reviewOf(repo, params.number!, params.id!);
    return review ? { status: 200, body: reviewJson(repo, review) } : notFound();
  });
  on('GET', '/repos/:owner/:repo/pulls/#number/reviews/#id/comments', 'token', ['pull_requests:read'], ({ repo, params, query }) => {
    const review = reviewOf(repo, params.number!, params.id!);
    if (!review) return notFound();
    const list = repo.reviewComments.filter((c) => c.reviewId === review.id).map((c) => reviewCommentJson(repo, c));
    return listReply(list, `/repos/${repo.fullName}/pulls/${params.number}/reviews/${review.id}/comments`, query);
  });
  on('GET', '/repos/:owner/:repo/pulls/#number/comments', 'token', ['pull_requests:read'], ({ repo, params, query }) => {
    if (!repo.pulls.has(Number(params.number))) return notFound();
    const list = repo.reviewComments.filter((c) => c.pullNumber === Number(params.number)).map((c) => reviewCommentJson(repo, c));
    return listReply(list, `/repos/${repo.fullName}/pulls/${params.number}/comments`, query);
  });
  const reviewCommentOf = (repo: RepoState, id: string) => repo.reviewComments.find((c) => c.id === Number(id));
  on('POST', '/repos/:owner/:repo/pulls/comments/#id/reactions', 'token', ['pull_requests:write'], ({ repo, params, body }) =>
    reviewCommentOf(repo, params.id!) ? react(repo, `review-comment:${params.id}`, body?.content) : notFound(),
  );
  on('GET', '/repos/:owner/:repo/pulls/comments/#id/reactions', 'token', ['pull_requests:read'], ({ repo, params, query }) =>
    reviewCommentOf(repo, params.id!)
      ? listReactions(repo, `review-comment:${params.id}`, `/repos/${repo.fullName}/pulls/comments/${params.id}/reactions`, query)
      : notFound(),
  );

  // Checks and Actions.
  const checkRunList = (runs: CheckRunState[], query: URLSearchParams) => {
    let list = runs;
    const name = query.get('check_name');
    const status = query.get('status');
    if (name) list = list.filter((r) => r.checkName === name);
    if (status) list = list.filter((r) => (r.status ?? 'completed') === status);
    // filter=latest (the default) keeps the most recent run of each name.
    if ((query.get('filter') ?? 'latest') === 'latest')
      list = list.filter((r) => !list.some((other) => other.checkName === r.checkName && other.appSlug === r.appSlug && other.id > r.id));
    return list.sort((a, b) => b.id - a.id);
  };
  on('GET', '/repos/:owner/:repo/check-runs/#id', 'token', ['checks:read'], ({ repo, params }) => {
    const run = repo.checkRuns.get(Number(params.id));
    return run ? { status: 200, body: checkRunJson(repo, run) } : notFound();
  });
  on('GET', '/repos/:owner/:repo/check-runs/#id/annotations', 'token', ['checks:read'], ({ repo, params, query }) => {
    const run = repo.checkRuns.get(Number(params.id));
    if (!run) return notFound();
    const list = (run.annotations ?? []).map((a) => ({
      path: a.path,
      start_line: a.start_line,
      end_line: a.end_line,
      start_column: a.start_column ?? null,
      end_column: a.end_column ?? null,
      annotation_level: a.annotation_level,
      title: a.title ?? null,
      message: a.message,
      raw_details: a.raw_details ?? null,
      blob_href: `${htmlRepo(repo.fullName)}/blob/${run.headSha}/${a.path}`,
    }));
    return listReply(list, `/repos/${repo.fullName}/check-runs/${run.id}/annotations`, query);
  });
  on('GET', '/repos/:owner/:repo/check-suites/#id/check-runs', 'token', ['checks:read'], ({ repo, params, query }) => {
    const runs = checkRunList(
      [...repo.checkRuns.values()].filter((r) => r.checkSuiteId === Number(params.id)),
      query,
    );
    return listReply(runs, `/repos/${repo.fullName}/check-suites/${params.id}/check-runs`, query, (page) => ({
      total_count: runs.length,
      check_runs: page.map((r) => checkRunJson(repo, r)),
    }));
  });
  on('GET', '/repos/:owner/:repo/commits/:ref/check-runs', 'token', ['checks:read'], async ({ repo, params, query }) => {
    // The ref may be a sha, a branch or a tag, as on GitHub.
    const ref = params.ref!;
    const sha = /^[0-9a-f]{40}$/.test(ref)
      ? ref
      : await gitOrNull(git.path(repo.fullName), ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    if (!sha) return { status: 422, body: { message: `No commit found for SHA: ${ref}`, documentation_url: DOCS } };
    const runs = checkRunList(
      [...repo.checkRuns.values()].filter((r) => r.headSha === sha),
      query,
    );
    return listReply(runs, `/repos/${repo.fullName}/commits/${encodeURIComponent(ref)}/check-runs`, query, (page) => ({
      total_count: runs.length,
      check_runs: page.map((r) => checkRunJson(repo, r)),
    }));
  });
  on('GET', '/repos/:owner/:repo/actions/runs/#id', 'token', ['actions:read'], ({ repo, params }) => {
    const run = repo.workflowRuns.get(Number(params.id));
    return run ? { status: 200, body: workflowRunJson(repo, run) } : notFound();
  });
  on('GET', '/repos/:owner/:repo/actions/runs/#id/jobs', 'token', ['actions:read'], ({ repo, params, query }) => {
    const run = repo.workflowRuns.get(Number(params.id));
    if (!run) return notFound();
    const jobs = run.jobs.map((job) => jobJson(repo, run, job));
    return listReply(jobs, `/repos/${repo.fullName}/actions/runs/${run.id}/jobs`, query, (page) => ({
      total_count: jobs.length,
      jobs: page,
    }));
  });
  on('GET', '/repos/:owner/:repo/actions/jobs/#id', 'token', ['actions:read'], ({ repo, params }) => {
    const run = [...repo.workflowRuns.values()].find((r) => r.jobs.some((j) => j.id === Number(params.id)));
    const job = run?.jobs.find((j) => j.id === Number(params.id));
    return run && job ? { status: 200, body: jobJson(repo, run, job) } : notFound();
  });
  on('GET', '/repos/:owner/:repo/actions/jobs/#id/logs', 'token', ['actions:read'], ({ repo, params }) => {
    const text = repo.jobLogs.get(Number(params.id));
    if (text === undefined) return notFound();
    // GitHub answers with a redirect to a short-lived signed URL that needs no authorization.
    const key = randomUUID();
    logBlobs.set(key, text);
    return { status: 302, headers: { location: `${base}/_logs/${key}` }, body: '' };
  });
  on('GET', '/_logs/:key', 'none', [], ({ params }) => {
    const text = logBlobs.get(params.key!);
    return text === undefined
      ? { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' }
      : { status: 200, headers: { 'content-type': 'text/plain' }, body: text };
  });

  // Git refs, from the git server.
  on('GET', '/repos/:owner/:repo/git/ref/*ref', 'token', ['contents:read'], async ({ repo, params }) => {
    const ref = params.ref ?? '';
    const gitDir = git.path(repo.fullName);
    const sha = ref ? await gitOrNull(gitDir, ['rev-parse', '--verify', '--quiet', `refs/${ref}`]) : null;
    if (!sha) return notFound();
    const type = (await gitAsync(gitDir, ['cat-file', '-t', sha])).trim();
    return {
      status: 200,
      body: {
        ref: `refs/${ref}`,
        node_id: nodeId('REF_', sha.length),
        url: `${apiRepo(repo)}/git/refs/${ref}`,
        object: { sha, type, url: `${apiRepo(repo)}/git/${type}s/${sha}` },
      },
    };
  });

  // ---- what a signed-in user reaches through the App (user access token) ---------------------
  // GitHub lists the installations, and within each the repositories, on which the user has an
  // explicit permission: the owner's own repositories, and those setPermission gave them (not 'none').
  const userReaches = (login: string, repo: RepoState) =>
    repo.owner.toLowerCase() === login.toLowerCase() || (repo.permissions.get(login.toLowerCase()) ?? 'none') !== 'none';
  const reachableIn = (login: string, installation: InstallationState) =>
    [...repos.values()].filter((r) => installationCovers(installation, r) && userReaches(login, r));
  const userInstallations = (login: string) =>
    [...installations.values()].filter((i) => i.account.login.toLowerCase() === login.toLowerCase() || reachableIn(login, i).length > 0);
  on('GET', '/user/installations', 'none', [], ({ headers, query }) => {
    const user = userOfToken(headers);
    if (!user) return badCredentials;
    const list = userInstallations(user.login);
    return listReply(list.map(installationJson), '/user/installations', query, (page) => ({
      total_count: list.length,
      installations: page,
    }));
  });
  on('GET', '/user/installations/#id/repositories', 'none', [], ({ headers, params, query }) => {
    const user = userOfToken(headers);
    if (!user) return badCredentials;
    const installation = userInstallations(user.login).find((i) => i.id === Number(params.id));
    if (!installation) return notFound();
    const visible = reachableIn(user.login, installation);
    return listReply(
      visible.map((r) => ({ ...repoJson(r), permissions: { admin: false, push: false, pull: true } })),
      `/user/installations/${installation.id}/repositories`,
      query,
      (page) => ({
        total_count: visible.length,
        repository_selection: installation.repositoryIds ? 'selected' : 'all',
        repositories: page,
      }),
    );
  });

  // ---- registering a GitHub App from a manifest (GitHub's manifest flow) ---------------------------
  // The web pages take the manifest (POST, form field `manifest`; a GET with it in the query too)
  // and, as GitHub does once the person clicks "Create GitHub App", send the browser to the
  // manifest's redirect_url with a code and the state they were given. The code converts once
  // (within an hour) into the App: this fake's own App (its id, slug and OAuth client), with a new
  // webhook secret and a new RSA key, which the JWT check below then holds the App's JWTs to.
  const manifestCodes = new Map<string, { manifest: Json; owner: UserState; used: boolean; expiresAt: number }>();
  const manifestAppKeys: KeyObject[] = [];
  const isHttpUrl = (v: unknown) => typeof v === 'string' && /^https?:\/\/[^/]/.test(v);
  const takeManifest = ({ query, body, headers, params }: Context): Reply => {
    const raw = (body && typeof body === 'object' ? (body as Json).manifest : undefined) ?? query.get('manifest');
    let manifest: Json;
    try {
      manifest = JSON.parse(String(raw));
    } catch {
      return { status: 422, body: { message: 'Invalid GitHub App configuration: the manifest is not JSON', documentation_url: DOCS } };
    }
    const hook = manifest.hook_attributes as Json | undefined;
    const problems = [
      !isHttpUrl(manifest.url) && 'url',
      !isHttpUrl(manifest.redirect_url) && 'redirect_url',
      (hook?.active ?? true) !== false && !isHttpUrl(hook?.url) && 'hook_attributes.url',
    ].filter(Boolean);
    if (problems.length)
      return { status: 422, body: { message: `Invalid GitHub App configuration: ${problems.join(', ')}`, documentation_url: DOCS } };
    const login = params.org ?? (decodeURIComponent(cookieValue(headers, FAKE_GITHUB_USER_COOKIE) ?? '') || lastOAuthUser || 'kodah-dev');
    const code = randomBytes(20).toString('hex');
    manifestCodes.set(code, {
      manifest,
      owner: { login, type: params.org ? 'Organization' : 'User' },
      used: false,
      expiresAt: Date.now() + 3_600_000,
    });
    const back = new URL(String(manifest.redirect_url));
    back.searchParams.set('code', code);
    const state = query.get('state');
    if (state !== null) back.searchParams.set('state', state);
    return { status: 302, headers: { location: back.toString() }, body: '' };
  };
  for (const path of ['/settings/apps/new', '/organizations/:org/settings/apps/new']) {
    on('GET', path, 'none', [], takeManifest);
    on('POST', path, 'none', [], takeManifest);
  }
  on('POST', '/app-manifests/:code/conversions', 'none', [], ({ params }) => {
    const grant = manifestCodes.get(params.code!);
    if (!grant || grant.used || grant.expiresAt < Date.now()) return notFound();
    grant.used = true;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    manifestAppKeys.push(publicKey);
    const { manifest } = grant;
    const now = isoNow();
    return {
      status: 201,
      body: {
        id: appId,
        slug: appSlug,
        node_id: nodeId('A', appId),
        owner: userJson(grant.owner),
        name: String(manifest.name ?? appSlug),
        description: manifest.description ?? null,
        external_url: manifest.url,
        html_url: `${base}/apps/${appSlug}`,
        created_at: now,
        updated_at: now,
        permissions: manifest.default_permissions ?? {},
        events: manifest.default_events ?? [],
        client_id: FAKE_OAUTH_CLIENT_ID,
        client_secret: FAKE_OAUTH_CLIENT_SECRET,
        webhook_secret: randomBytes(20).toString('hex'),
        pem: privateKey.export({ type: 'pkcs1', format: 'pem' }),
      },
    };
  });

  // ---- the server ---------------------------------------------------------------------------
  const defaultHeaders = (): Record<string, string> => ({
    'content-type': JSON_TYPE,
    'x-github-media-type': 'github.v3; format=json',
    'x-github-api-version-selected': '2022-11-28',
    'x-github-request-id': randomUUID(),
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
    'x-ratelimit-used': '1',
    'x-ratelimit-resource': 'core',
  });
  const send = (res: ServerResponse, reply: Reply) => {
    const headers = {
      ...defaultHeaders(),
      ...Object.fromEntries(Object.entries(reply.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    };
    const payload =
      reply.body === undefined || reply.body === ''
        ? ''
        : Buffer.isBuffer(reply.body) || typeof reply.body === 'string'
          ? reply.body
          : JSON.stringify(reply.body);
    res.writeHead(reply.status, headers).end(payload);
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  /** The installation token of an "authorization: token ghs_…" or "Bearer ghs_…" header. */
  const tokenOf = (auth: string | undefined) => {
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(auth ?? '');
    return match ? tokens.get(match[1]!) : undefined;
  };
  const isJwt = (auth: string | undefined) => {
    const match = /^bearer\s+(\S+)$/i.exec(auth ?? '');
    const ok = !!match && !tokens.has(match[1]!) && match[1]!.split('.').length === 3 && match[1]!.split('.').every(Boolean);
    // Once an App was made through the manifest flow, only JWTs signed with its key pass.
    return ok && (manifestAppKeys.length === 0 || manifestAppKeys.some((key) => verifiesJwt(match[1]!, key)));
  };

  const route = async (
    method: string,
    url: URL,
    request: FakeGitHubRequest,
    headers: IncomingMessage['headers'],
  ): Promise<Reply | null> => {
    for (const r of routes) {
      if (r.method !== method) continue;
      const match = r.regex.exec(url.pathname);
      if (!match) continue;
      // Octokit percent-encodes each parameter ("heads%2Fmain", "src%2Fapp.py"): decode once, here.
      const params = Object.fromEntries(r.names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? '')]));
      let token: TokenState | null = null;
      if (r.auth === 'jwt' && !isJwt(request.auth))
        return { status: 401, body: { message: 'A JSON web token could not be decoded', documentation_url: DOCS } };
      if (r.auth === 'token') {
        if (!request.auth) return { status: 401, body: { message: 'Requires authentication', documentation_url: DOCS } };
        token = tokenOf(request.auth) ?? null;
        if (!token || token.expired) return { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS } };
      }
      // Only /repos/:owner/:repo routes read ctx.repo; the others never touch it.
      let repo = undefined as unknown as RepoState;
      if (r.auth === 'token' && params.owner !== undefined && params.repo !== undefined) {
        const found = getRepo(params.owner, params.repo);
        const installation = installations.get(token!.installationId);
        // A repository the token may not see does not exist, as far as GitHub answers.
        if (!found || !installation || !installationCovers(installation, found) || (token!.repoIds && !token!.repoIds.has(found.id)))
          return notFound();
        repo = found;
      }
      if (
        token &&
        r.needs.length &&
        !r.needs.some((need) => {
          const [name = '', level = 'read'] = need.split(':');
          return (LEVEL[(token!.permissions[name] ?? 'none') as keyof typeof LEVEL] ?? 0) >= LEVEL[level as keyof typeof LEVEL];
        })
      )
        return { status: 403, body: { message: 'Resource not accessible by integration', documentation_url: DOCS } };
      return r.handle({ params, query: url.searchParams, body: request.body, headers, repo, token });
    }
    return null;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = (req.method ?? 'GET').toUpperCase();
    const auth = req.headers.authorization;
    // Writes made with an installation token count as in flight from arrival to the end of the answer.
    const writer = method !== 'GET' && method !== 'HEAD' ? tokenOf(auth) : undefined;
    if (writer) {
      const id = writer.installationId;
      const start = Date.now();
      inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
      maxInFlight.set(id, Math.max(maxInFlight.get(id) ?? 0, inFlight.get(id)!));
      maxInFlightAll = Math.max(maxInFlightAll, ++inFlightAll);
      const entry: FakeWrite = { method, path: url.pathname, installationId: id, start, end: Number.NaN, status: 0 };
      writes.push(entry);
      res.on('close', () => {
        inFlight.set(id, inFlight.get(id)! - 1);
        inFlightAll--;
        entry.end = Date.now();
        entry.status = res.statusCode;
      });
    }
    const raw = await readBody(req);
    let body: unknown = undefined;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const request: FakeGitHubRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      auth,
      at: Date.now(),
    };
    state.requests.push(request);
    if (writer && writeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, writeDelayMs));

    const failure = failures.find(
      (f) => f.left > 0 && (f.method === '*' || f.method.toUpperCase() === method) && f.pattern.test(url.pathname),
    );
    if (failure) {
      failure.left--;
      send(res, failure.reply);
      return;
    }
    if (raw && /^application\/x-www-form-urlencoded/i.test(String(req.headers['content-type'] ?? ''))) {
      body = Object.fromEntries(new URLSearchParams(raw));
      request.body = body;
    }
    if (raw && typeof body === 'string' && method !== 'GET') {
      send(res, { status: 400, body: { message: 'Problems parsing JSON', documentation_url: DOCS } });
      return;
    }
    try {
      const reply = await route(method, url, request, req.headers);
      if (reply) send(res, reply);
      else {
        state.unhandled.push(request);
        send(res, notFound());
      }
    } catch (error) {
      // A fault of the fake, not of the app: recorded where tests look, and answered loudly.
      state.unhandled.push({ ...request, error: String((error as Error)?.stack ?? error) });
      send(res, { status: 500, body: { message: `fake GitHub error: ${String(error)}`, documentation_url: DOCS } });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const state: FakeGitHub = {
    url: base,
    botLogin,
    requests: [],
    unhandled: [],
    tokens: [],
    get webUrl() {
      return base;
    },
    addOAuthUser(input) {
      const id = input.id ?? userId(input.login);
      oauthUsers.set(input.login.toLowerCase(), {
        id,
        login: input.login,
        email: input.email === undefined ? `${input.login}@example.com` : input.email,
        emailVerified: input.emailVerified ?? true,
      });
      lastOAuthUser = input.login;
      return { id, login: input.login };
    },
    revokeUserTokens(login) {
      for (const grant of [...userAccessTokens.values(), ...userRefreshTokens.values()])
        if (grant.login.toLowerCase() === login.toLowerCase()) grant.revoked = true;
    },
    userTokens(login) {
      return [...userAccessTokens.entries()]
        .filter(([, g]) => g.login.toLowerCase() === login.toLowerCase() && !g.revoked && g.expiresAt > Date.now())
        .map(([token]) => token);
    },
    addRepo(input) {
      const fullName = `${input.owner}/${input.name}`;
      if (!existsSync(git.path(fullName)))
        throw new Error(`fake GitHub: create ${fullName} in the git server first (git.createRepo('${fullName}', …))`);
      repos.set(fullName.toLowerCase(), {
        owner: input.owner,
        name: input.name,
        fullName,
        id: input.id,
        private: input.private ?? false,
        defaultBranch: input.defaultBranch ?? 'main',
        ownerId: input.ownerId ?? userId(input.owner),
        ownerType: input.ownerType ?? 'Organization',
        permissions: new Map(),
        issues: new Map(),
        comments: [],
        pulls: new Map(),
        reviews: new Map(),
        reviewComments: [],
        reactions: new Map(),
        checkRuns: new Map(),
        workflowRuns: new Map(),
        jobLogs: new Map(),
      });
    },
    setPermission(owner, name, login, permission) {
      mustRepo(owner, name).permissions.set(login.toLowerCase(), permission);
    },
    addIssue(owner, name, input) {
      const at = isoNow();
      mustRepo(owner, name).issues.set(input.number, {
        id: nextIssueId++,
        number: input.number,
        title: input.title,
        body: input.body ?? null,
        user: toUser(input.user, { login: 'octocat', type: 'User' }),
        labels: [...(input.labels ?? [])],
        state: input.state ?? 'open',
        isPull: input.pullRequest ?? false,
        createdAt: at,
        updatedAt: at,
        closedAt: input.state === 'closed' ? at : null,
      });
    },
    addIssueComment(owner, name, issueNumber, input) {
      const repo = mustRepo(owner, name);
      if (!repo.issues.has(issueNumber)) throw new Error(`fake GitHub: no issue ${owner}/${name}#${issueNumber}`);
      const at = isoNow();
      const comment: CommentState = {
        id: nextCommentId++,
        issueNumber,
        body: input.body,
        user: toUser(input.user, bot),
        createdAt: at,
        updatedAt: at,
      };
      repo.comments.push(comment);
      return commentJson(repo, comment);
    },
    addPull(owner, name, input) {
      const repo = mustRepo(owner, name);
      const repoFullName = input.head.repoFullName ?? repo.fullName;
      const sha = input.head.sha ?? git.branchSha(repoFullName, input.head.ref);
      if (!sha) throw new Error(`fake GitHub: no branch ${input.head.ref} in ${repoFullName}; push it or give head.sha`);
      const at = isoNow();
      const user = toUser(input.user, { login: 'octocat', type: 'User' });
      const pull: FakePull = {
        id: nextPullId++,
        number: input.number,
        title: input.title,
        body: input.body ?? null,
        head: { ref: input.head.ref, sha, repoFullName },
        base: { ref: input.base.ref },
        draft: input.draft ?? false,
        state: input.state ?? 'open',
        user,
        maintainerCanModify: true,
        createdThroughApi: false,
        createdAt: at,
        updatedAt: at,
      };
      repo.pulls.set(input.number, pull);
      repo.issues.set(input.number, {
        id: nextIssueId++,
        number: input.number,
        title: input.title,
        body: pull.body,
        user,
        labels: [],
        state: pull.state,
        isPull: true,
        createdAt: at,
        updatedAt: at,
        closedAt: pull.state === 'closed' ? at : null,
      });
    },
    addReview(owner, name, pullNumber, input) {
      const repo = mustRepo(owner, name);
      const pull = repo.pulls.get(pullNumber);
      if (!pull) throw new Error(`fake GitHub: no pull request ${owner}/${name}#${pullNumber}`);
      const commitId = git.branchSha(pull.head.repoFullName, pull.head.ref) ?? pull.head.sha;
      const at = isoNow();
      const user = toUser(input.user, { login: 'octocat', type: 'User' });
      const review: ReviewState = {
        id: nextReviewId++,
        pullNumber,
        user,
        state: input.state,
        body: input.body ?? null,
        commitId,
        submittedAt: at,
      };
      repo.reviews.set(review.id, review);
      const comments = (input.comments ?? []).map((c) => {
        const line = c.line === undefined ? 1 : c.line;
        const comment: ReviewCommentState = {
          id: nextReviewCommentId++,
          reviewId: review.id,
          pullNumber,
          user,
          path: c.path,
          line,
          startLine: c.startLine ?? null,
          diffHunk: c.diffHunk ?? `@@ -${line ?? 1} +${line ?? 1} @@`,
          body: c.body,
          commitId,
          createdAt: at,
        };
        repo.reviewComments.push(comment);
        return comment;
      });
      return {
        review: reviewJson(repo, review) as FakeReview['review'],
        comments: comments.map((c) => reviewCommentJson(repo, c) as FakeReview['comments'][number]),
      };
    },
    addCheckRun(input) {
      const repo = mustRepo(input.owner, input.name);
      const appSlugOfRun = input.appSlug ?? 'github-actions';
      const sibling = [...repo.checkRuns.values()].find((r) => r.headSha === input.headSha && r.appSlug === appSlugOfRun);
      const { owner: _owner, name: _name, ...rest } = input;
      repo.checkRuns.set(input.id, {
        ...rest,
        appSlug: appSlugOfRun,
        checkSuiteId: input.checkSuiteId ?? sibling?.checkSuiteId ?? nextSuiteId++,
      });
    },
    addWorkflowRun(input) {
      const { owner, name, ...run } = input;
      mustRepo(owner, name).workflowRuns.set(input.id, run);
    },
    setJobLog(owner, name, jobId, text) {
      mustRepo(owner, name).jobLogs.set(jobId, text);
    },
    addInstallation(input) {
      installations.set(input.id, { ...input, createdAt: isoNow() });
    },
    expireToken(token) {
      const known = tokens.get(token);
      if (known) known.expired = true;
      git.revokeToken(token);
    },
    failNext(method, pathPattern, reply, times = 1) {
      failures.push({ method, pattern: pathPattern, reply, left: times });
    },
    comments(owner, name, issueNumber) {
      return mustRepo(owner, name)
        .comments.filter((c) => c.issueNumber === issueNumber)
        .map((c) => c.body);
    },
    reactions(owner, name, target) {
      const key =
        target.reviewCommentId !== undefined
          ? `review-comment:${target.reviewCommentId}`
          : target.commentId !== undefined
            ? `comment:${target.commentId}`
            : `issue:${target.issue}`;
      return (mustRepo(owner, name).reactions.get(key) ?? []).map(reactionJson);
    },
    pulls(owner, name) {
      return [...mustRepo(owner, name).pulls.values()].sort((a, b) => a.number - b.number);
    },
    maxConcurrentWrites(installationId) {
      return installationId === undefined ? maxInFlightAll : (maxInFlight.get(installationId) ?? 0);
    },
    writeTimes() {
      return writes.map((w) => ({ ...w }));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return state;
}
