import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { verify } from '@octokit/webhooks-methods';
import { ProbotOctokit } from 'probot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from './helpers/fake-github.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { adaptRepository, loadExample, sendWebhook } from './helpers/github-webhooks.js';

// Git clients run against servers in this same process: always asynchronously (a synchronous
// child process would block the event loop that has to answer it).
const execFileAsync = promisify(execFile);
// No credential helper, no prompt: a refused request fails at once instead of waiting for a password.
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: '',
  SSH_ASKPASS: '',
};
const run = (cwd: string, ...args: string[]) => execFileAsync('git', args, { cwd, env: GIT_ENV });
/** The clone URL with the token as Basic password, the way GitHub Apps clone. */
const withToken = (url: string, token: string) => url.replace('http://', `http://x-access-token:${token}@`);

describe('GitHub test kit', () => {
  let git: GitHttpServer;
  let gh: FakeGitHub;
  let work: string;
  let n = 0;
  const dir = () => path.join(work, `w${n++}`);
  let nextRepoId = 200;
  /**
   * A private repository of the installation for one test alone, like octo/widgets: tests that
   * push, commit or open issues and pull requests work on their own, so none sees another's.
   */
  const ownRepo = (name: string) => {
    const id = nextRepoId++;
    git.createRepo(
      `octo/${name}`,
      { 'README.md': `# ${name}\n`, 'src/app.py': 'def total(items):\n    return sum(items)\n' },
      { private: true },
    );
    gh.addRepo({ owner: 'octo', name, id, private: true });
    return { name, id, fullName: `octo/${name}` };
  };

  beforeAll(async () => {
    git = await startGitHttpServer();
    gh = await startFakeGitHub({ git });
    work = mkdtempSync(path.join(tmpdir(), 'kodah-kit-'));
    git.createRepo(
      'octo/widgets',
      { 'README.md': '# widgets\n', 'src/app.py': 'def total(items):\n    return sum(items)\n' },
      { private: true },
    );
    git.createRepo('octo/gadgets', { 'g.txt': 'gadgets\n' }, { private: true });
    git.createRepo('octo/site', { 'index.html': '<p>hi</p>\n' });
    gh.addRepo({ owner: 'octo', name: 'widgets', id: 101, private: true });
    gh.addRepo({ owner: 'octo', name: 'gadgets', id: 102, private: true });
    gh.addRepo({ owner: 'octo', name: 'site', id: 103 });
    gh.addInstallation({ id: 1, account: { login: 'octo', id: 10, type: 'Organization' } });
  });
  afterAll(async () => {
    await gh?.close();
    await git?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** POST /app/installations/1/access_tokens as the app (any three-part JWT passes). */
  const mint = async (body?: unknown, jwt = 'a.b.c') => {
    const response = await fetch(`${gh.url}/app/installations/1/access_tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, accept: 'application/vnd.github+json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as any };
  };
  const api = async (token: string | null, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${gh.url}${route}`, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        ...(token ? { authorization: `token ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: (text ? JSON.parse(text) : undefined) as any };
  };

  it('keeps plain repository names working as before', async () => {
    git.createRepo('shop', { 'a.py': 'x = 1\n' }, { private: true });
    expect(git.url('shop')).toMatch(/\/shop\/repo\.git$/);
    expect(git.url('octo/widgets')).toMatch(/\/octo\/widgets\.git$/);
    await run(work, 'clone', '-q', withToken(git.url('shop'), git.token), dir());
    await expect(run(work, 'clone', '-q', git.url('shop'), dir())).rejects.toThrow();
    expect(git.authLog.at(-1)).toEqual({ repo: 'shop', service: 'upload-pack', token: null });
  });

  it('mints installation tokens that git accepts only for the repositories they cover', async () => {
    const earlier = gh.tokens.length;
    expect((await mint(undefined, 'not-a-jwt')).status).toBe(401);
    const scoped = await mint({ repositories: ['widgets'], permissions: { contents: 'write', issues: 'write' } });
    expect(scoped.status).toBe(201);
    expect(scoped.json).toMatchObject({ repository_selection: 'selected', permissions: { contents: 'write', issues: 'write' } });
    expect(scoped.json.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(Date.parse(scoped.json.expires_at) - Date.now()).toBeGreaterThan(3500_000);
    expect(scoped.json.repositories.map((r: any) => r.full_name)).toEqual(['octo/widgets']);
    const token: string = scoped.json.token;

    const clone = dir();
    await run(work, 'clone', '-q', withToken(git.url('octo/widgets'), token), clone);
    expect(readFileSync(path.join(clone, 'src/app.py'), 'utf8')).toContain('def total');
    expect(git.authLog).toContainEqual({ repo: 'octo/widgets', service: 'upload-pack', token });
    // Another private repository of the same installation, no token, a made-up token: all refused.
    await expect(run(work, 'clone', '-q', withToken(git.url('octo/gadgets'), token), dir())).rejects.toThrow();
    await expect(run(work, 'clone', '-q', git.url('octo/widgets'), dir())).rejects.toThrow();
    await expect(run(work, 'clone', '-q', withToken(git.url('octo/widgets'), 'ghs_madeup'), dir())).rejects.toThrow();
    // Public repositories stay readable by anyone.
    await run(work, 'clone', '-q', git.url('octo/site'), dir());

    const byId = await mint({ repository_ids: [102] });
    await run(work, 'clone', '-q', withToken(git.url('octo/gadgets'), byId.json.token), dir());
    await expect(run(work, 'clone', '-q', withToken(git.url('octo/widgets'), byId.json.token), dir())).rejects.toThrow();

    const whole = await mint();
    expect(whole.json.repository_selection).toBe('all');
    expect(whole.json.repositories).toBeUndefined();
    await run(work, 'clone', '-q', withToken(git.url('octo/gadgets'), whole.json.token), dir());

    expect((await mint({ repository_ids: [999] })).status).toBe(422);
    expect((await mint({ permissions: { administration: 'write' } })).status).toBe(422);
    expect(gh.tokens.slice(earlier).map((t) => ({ repositoryIds: t.repositoryIds, repositories: t.repositories }))).toEqual([
      { repositoryIds: undefined, repositories: ['widgets'] },
      { repositoryIds: [102], repositories: undefined },
      { repositoryIds: undefined, repositories: undefined },
    ]);
    expect(gh.tokens[earlier]).toMatchObject({ token, installationId: 1, permissions: { contents: 'write', issues: 'write' } });

    // An expired token stops working for git and the API alike.
    gh.expireToken(byId.json.token);
    await expect(run(work, 'clone', '-q', withToken(git.url('octo/gadgets'), byId.json.token), dir())).rejects.toThrow();
    expect((await api(byId.json.token, 'GET', '/repos/octo/gadgets')).status).toBe(401);
  });

  it('takes pushes only with a token for the repository, even a public one', async () => {
    const repo = ownRepo('pushes');
    const { json } = await mint({ repositories: ['pushes'] });
    const token: string = json.token;
    const clone = dir();
    await run(work, 'clone', '-q', withToken(git.url(repo.fullName), token), clone);
    writeFileSync(path.join(clone, 'src/app.py'), 'def total(items):\n    return sum(items or [])\n');
    await run(clone, 'checkout', '-q', '-b', 'kodah/fix-1');
    await run(
      clone,
      '-c',
      'user.name=Kodah',
      '-c',
      'user.email=kodah@example.com',
      'commit',
      '-q',
      '-am',
      'Fix total of None\n\nEmpty input sums to 0.',
    );
    const head = (await run(clone, 'rev-parse', 'HEAD')).stdout.trim();

    await run(clone, 'push', '-q', 'origin', 'kodah/fix-1');
    expect(git.branchSha(repo.fullName, 'kodah/fix-1')).toBe(head);
    expect(git.branchSha(repo.fullName, 'no-such-branch')).toBeNull();
    expect(git.authLog).toContainEqual({ repo: repo.fullName, service: 'receive-pack', token });
    const [last, first] = git.log(repo.fullName, 'kodah/fix-1', 2);
    expect(last).toEqual({
      sha: head,
      parents: [first!.sha],
      subject: 'Fix total of None',
      body: 'Empty input sums to 0.',
      files: ['src/app.py'],
    });
    expect(first).toMatchObject({ parents: [], subject: 'initial', files: ['README.md', 'src/app.py'] });

    // No token, or a token for another repository: refused, nothing moves.
    await expect(run(clone, 'push', '-q', git.url(repo.fullName), 'kodah/fix-1:refs/heads/anonymous')).rejects.toThrow();
    const other = await mint({ repositories: ['gadgets'] });
    await expect(
      run(clone, 'push', '-q', withToken(git.url(repo.fullName), other.json.token), 'kodah/fix-1:refs/heads/wrong'),
    ).rejects.toThrow();
    // A token with contents: read clones but may not push (403, as on GitHub).
    const readOnly = await mint({ repositories: ['pushes'], permissions: { contents: 'read' } });
    await run(work, 'clone', '-q', withToken(git.url(repo.fullName), readOnly.json.token), dir());
    const refused = run(clone, 'push', '-q', withToken(git.url(repo.fullName), readOnly.json.token), 'kodah/fix-1:refs/heads/read-only');
    await expect(refused).rejects.toThrow(/403/);
    expect(git.branchSha(repo.fullName, 'anonymous')).toBeNull();
    expect(git.branchSha(repo.fullName, 'wrong')).toBeNull();
    expect(git.branchSha(repo.fullName, 'read-only')).toBeNull();

    const site = dir();
    await run(work, 'clone', '-q', git.url('octo/site'), site);
    await run(site, '-c', 'user.name=A', '-c', 'user.email=a@example.com', 'commit', '-q', '--allow-empty', '-m', 'anonymous push');
    await expect(run(site, 'push', '-q', 'origin', 'HEAD:refs/heads/anonymous')).rejects.toThrow();
    expect(git.authLog).toContainEqual({ repo: 'octo/site', service: 'receive-pack', token: null });
    expect(git.branchSha('octo/site', 'anonymous')).toBeNull();

    // The API sees the pushed branch.
    const ref = await api(token, 'GET', `/repos/${repo.fullName}/git/ref/heads/kodah/fix-1`);
    expect(ref.json).toMatchObject({ ref: 'refs/heads/kodah/fix-1', object: { sha: head, type: 'commit' } });
    expect((await api(token, 'GET', `/repos/${repo.fullName}/git/ref/heads/nope`)).status).toBe(404);
  });

  it('serves repositories and file contents read from git', async () => {
    const unhandled = gh.unhandled.length;
    git.git('octo/widgets', 'branch', 'kit/or-empty', 'main');
    git.commit(
      'octo/widgets',
      { 'src/app.py': 'def total(items):\n    return sum(items or [])\n' },
      { branch: 'kit/or-empty', message: 'or empty' },
    );
    const { json } = await mint({ repositories: ['widgets'] });
    const token: string = json.token;
    const repo = await api(token, 'GET', '/repos/octo/widgets');
    expect(repo.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(repo.json).toMatchObject({
      id: 101,
      full_name: 'octo/widgets',
      private: true,
      default_branch: 'main',
      clone_url: git.url('octo/widgets'),
      owner: { login: 'octo', type: 'Organization' },
    });

    const file = await api(token, 'GET', '/repos/octo/widgets/contents/src/app.py');
    expect(file.status).toBe(200);
    expect(file.json).toMatchObject({
      type: 'file',
      encoding: 'base64',
      path: 'src/app.py',
      name: 'app.py',
      sha: git.git('octo/widgets', 'rev-parse', 'main:src/app.py'),
    });
    expect(Buffer.from(file.json.content, 'base64').toString()).toBe('def total(items):\n    return sum(items)\n');
    expect(file.json.size).toBe(40);
    const onBranch = await api(token, 'GET', '/repos/octo/widgets/contents/src%2Fapp.py?ref=kit%2For-empty');
    expect(Buffer.from(onBranch.json.content, 'base64').toString()).toContain('items or []');
    const raw = await fetch(`${gh.url}/repos/octo/widgets/contents/README.md`, {
      headers: { authorization: `token ${token}`, accept: 'application/vnd.github.raw' },
    });
    expect(await raw.text()).toBe('# widgets\n');
    const listing = await api(token, 'GET', '/repos/octo/widgets/contents/src');
    expect(listing.json.map((e: any) => [e.type, e.path])).toEqual([['file', 'src/app.py']]);

    expect((await api(token, 'GET', '/repos/octo/widgets/contents/missing.txt')).status).toBe(404);
    expect((await api(token, 'GET', '/repos/octo/widgets/contents/README.md?ref=nope')).status).toBe(404);
    expect((await api(null, 'GET', '/repos/octo/widgets/contents/README.md')).status).toBe(401);
    // Outside the token's repositories, GitHub answers as if the repository did not exist.
    expect((await api(token, 'GET', '/repos/octo/gadgets/contents/g.txt')).status).toBe(404);
    const unknown = await api(token, 'GET', '/repos/octo/widgets/teleport');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    expect(gh.unhandled.slice(unhandled).map((r) => r.path)).toEqual(['/repos/octo/widgets/teleport']);
    gh.unhandled.length = unhandled;
  });

  it('creates pull requests like GitHub, refusing duplicates and missing branches', async () => {
    const repo = ownRepo('pulls');
    const { json } = await mint();
    const token: string = json.token;
    gh.addIssue('octo', repo.name, { number: 3, title: 'total() crashes on None', body: 'TypeError', labels: ['kodah'] });
    git.git(repo.fullName, 'branch', 'kodah/pr', 'main');
    const tip = git.commit(repo.fullName, { 'NEWS.md': 'fixed\n' }, { branch: 'kodah/pr', message: 'news' });

    const created = await api(token, 'POST', `/repos/${repo.fullName}/pulls`, {
      title: 'Fix #3',
      head: 'kodah/pr',
      base: 'main',
      body: 'Fixes #3',
      draft: true,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      number: 4,
      html_url: `https://github.com/${repo.fullName}/pull/4`,
      state: 'open',
      draft: true,
      head: { ref: 'kodah/pr', sha: tip, label: 'octo:kodah/pr', repo: { full_name: repo.fullName, id: repo.id } },
      base: { ref: 'main', repo: { id: repo.id } },
      user: { login: 'kodah[bot]', type: 'Bot' },
    });
    expect(typeof created.json.id).toBe('number');

    const duplicate = await api(token, 'POST', `/repos/${repo.fullName}/pulls`, { title: 'Again', head: 'octo:kodah/pr', base: 'main' });
    expect(duplicate.status).toBe(422);
    expect(duplicate.json).toMatchObject({
      message: 'Validation Failed',
      errors: [{ message: 'A pull request already exists for octo:kodah/pr.' }],
    });
    expect((await api(token, 'POST', `/repos/${repo.fullName}/pulls`, { title: 'x', head: 'no-such-branch', base: 'main' })).status).toBe(
      422,
    );
    git.git(repo.fullName, 'branch', 'kodah/empty', 'main');
    const empty = await api(token, 'POST', `/repos/${repo.fullName}/pulls`, { title: 'x', head: 'kodah/empty', base: 'main' });
    expect(empty.json.errors[0].message).toBe('No commits between main and kodah/empty');

    // The pull request is an issue too, and lists filter by "owner:branch" as on GitHub.
    expect((await api(token, 'GET', `/repos/${repo.fullName}/issues/4`)).json).toHaveProperty(
      'pull_request.html_url',
      `https://github.com/${repo.fullName}/pull/4`,
    );
    expect((await api(token, 'GET', `/repos/${repo.fullName}/issues/3`)).json).not.toHaveProperty('pull_request');
    expect((await api(token, 'GET', `/repos/${repo.fullName}/pulls?head=octo:kodah/pr&base=main`)).json.map((p: any) => p.number)).toEqual([
      4,
    ]);
    expect((await api(token, 'GET', `/repos/${repo.fullName}/pulls?head=octo:other`)).json).toEqual([]);

    const closed = await api(token, 'PATCH', `/repos/${repo.fullName}/pulls/4`, { state: 'closed', title: 'Fix #3 (superseded)' });
    expect(closed.json).toMatchObject({ state: 'closed', title: 'Fix #3 (superseded)' });
    expect((await api(token, 'GET', `/repos/${repo.fullName}/pulls`)).json).toEqual([]);
    expect((await api(token, 'POST', `/repos/${repo.fullName}/pulls`, { title: 'Fix #3', head: 'kodah/pr', base: 'main' })).status).toBe(
      201,
    );
    expect(gh.pulls('octo', repo.name).map((p) => [p.number, p.state, p.createdThroughApi])).toEqual([
      [4, 'closed', true],
      [5, 'open', true],
    ]);

    gh.addPull('octo', repo.name, {
      number: 10,
      title: 'A human PR',
      head: { ref: 'kodah/pr' },
      base: { ref: 'main' },
      user: { login: 'alice' },
    });
    expect((await api(token, 'GET', `/repos/${repo.fullName}/pulls/10`)).json).toMatchObject({
      user: { login: 'alice' },
      head: { sha: tip },
    });
    // Which pull requests hold a commit: all three have the branch's tip.
    const holding = await api(token, 'GET', `/repos/${repo.fullName}/commits/${tip}/pulls`);
    expect(holding.json.map((p: any) => [p.number, p.state])).toEqual([
      [10, 'open'],
      [5, 'open'],
      [4, 'closed'],
    ]);
    // Pushing moves an open pull request's head with its branch.
    const moved = git.commit(repo.fullName, { 'NEWS.md': 'fixed again\n' }, { branch: 'kodah/pr', message: 'more news' });
    expect((await api(token, 'GET', `/repos/${repo.fullName}/pulls/5`)).json.head.sha).toBe(moved);
  });

  it('answers failNext replies in place of the next matching requests', async () => {
    gh.addIssue('octo', 'widgets', { number: 31, title: 'Rate limited' });
    const { json } = await mint();
    const message = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';
    gh.failNext('POST', /\/issues\/31\/comments$/, { status: 403, headers: { 'retry-after': '1' }, body: { message } });
    const limited = await api(json.token, 'POST', '/repos/octo/widgets/issues/31/comments', { body: 'hello' });
    expect(limited.status).toBe(403);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.json.message).toBe(message);
    expect((await api(json.token, 'POST', '/repos/octo/widgets/issues/31/comments', { body: 'hello' })).status).toBe(201);
    expect(gh.comments('octo', 'widgets', 31)).toEqual(['hello']);
    // A token without issues permission is refused the way GitHub refuses an app.
    const contentsOnly = await mint({ repository_ids: [101], permissions: { contents: 'read' } });
    const refused = await api(contentsOnly.json.token, 'POST', '/repos/octo/widgets/issues/31/comments', { body: 'nope' });
    expect(refused.status).toBe(403);
    expect(refused.json.message).toBe('Resource not accessible by integration');
  });

  describe("with Probot's Octokit, as the app will use it", () => {
    let octokit: InstanceType<typeof ProbotOctokit>;

    beforeAll(async () => {
      // A real RS256 key: Probot signs a real JWT with it; the fake only checks the JWT's shape.
      const { privateKey } = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      const app = new ProbotOctokit({
        auth: { appId: 424242, privateKey },
        baseUrl: gh.url,
        log: { debug() {}, info() {}, warn() {}, error() {} },
      });
      octokit = (await app.auth({
        type: 'event-octokit',
        event: { name: 'issues', payload: { installation: { id: 1 } } },
      })) as InstanceType<typeof ProbotOctokit>;
    });

    it("paginates issue comments with GitHub's link header", async () => {
      gh.addIssue('octo', 'widgets', { number: 7, title: 'Slow', body: 'It is slow', user: { login: 'alice' } });
      for (let i = 1; i <= 5; i++)
        gh.addIssueComment('octo', 'widgets', 7, { body: `comment ${i}`, user: { login: i % 2 ? 'alice' : 'bob' } });
      const all = await octokit.paginate(octokit.rest.issues.listComments, {
        owner: 'octo',
        repo: 'widgets',
        issue_number: 7,
        per_page: 2,
      });
      expect(all.map((c) => c.body)).toEqual(['comment 1', 'comment 2', 'comment 3', 'comment 4', 'comment 5']);
      expect(all.map((c) => c.user?.login)).toEqual(['alice', 'bob', 'alice', 'bob', 'alice']);

      const { token } = (await mint()).json;
      const first = await api(token, 'GET', '/repos/octo/widgets/issues/7/comments?per_page=2');
      expect(first.headers.get('link')).toBe(
        `<${gh.url}/repos/octo/widgets/issues/7/comments?per_page=2&page=2>; rel="next", <${gh.url}/repos/octo/widgets/issues/7/comments?per_page=2&page=3>; rel="last"`,
      );
      const lastPage = await api(token, 'GET', '/repos/octo/widgets/issues/7/comments?per_page=2&page=3');
      expect(lastPage.json.map((c: any) => c.body)).toEqual(['comment 5']);
      expect(lastPage.headers.get('link')).toMatch(/page=2>; rel="prev".*page=1>; rel="first"/);
      expect(first.json[0].id).toBeGreaterThanOrEqual(1000);
    });

    it('writes comments and reactions, and checks permissions', async () => {
      gh.addIssue('octo', 'widgets', { number: 8, title: 'Fast', body: 'It is fast', user: { login: 'alice' } });
      const { data: comment, status } = await octokit.rest.issues.createComment({
        owner: 'octo',
        repo: 'widgets',
        issue_number: 8,
        body: 'Working on it',
      });
      expect(status).toBe(201);
      expect(comment.user).toMatchObject({ login: 'kodah[bot]', type: 'Bot' });
      expect(comment.html_url).toBe(`https://github.com/octo/widgets/issues/8#issuecomment-${comment.id}`);
      await octokit.rest.issues.updateComment({ owner: 'octo', repo: 'widgets', comment_id: comment.id, body: 'Done' });
      expect(gh.comments('octo', 'widgets', 8).at(-1)).toBe('Done');
      expect((await octokit.rest.issues.getComment({ owner: 'octo', repo: 'widgets', comment_id: comment.id })).data.body).toBe('Done');

      expect(
        (await octokit.rest.reactions.createForIssue({ owner: 'octo', repo: 'widgets', issue_number: 8, content: 'eyes' })).status,
      ).toBe(201);
      expect(
        (await octokit.rest.reactions.createForIssue({ owner: 'octo', repo: 'widgets', issue_number: 8, content: 'eyes' })).status,
      ).toBe(200);
      expect(
        (await octokit.rest.reactions.createForIssueComment({ owner: 'octo', repo: 'widgets', comment_id: comment.id, content: 'rocket' }))
          .status,
      ).toBe(201);
      expect(gh.reactions('octo', 'widgets', { issue: 8 }).map((r) => [r.content, r.user.login])).toEqual([['eyes', 'kodah[bot]']]);
      expect(gh.reactions('octo', 'widgets', { commentId: comment.id }).map((r) => r.content)).toEqual(['rocket']);

      gh.setPermission('octo', 'widgets', 'mia', 'maintain');
      gh.setPermission('octo', 'widgets', 'tom', 'triage');
      const level = async (username: string) =>
        (await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: 'octo', repo: 'widgets', username })).data;
      expect(await level('mia')).toMatchObject({ permission: 'write', role_name: 'maintain', user: { login: 'mia' } });
      expect(await level('tom')).toMatchObject({ permission: 'read', role_name: 'triage' });
      expect(await level('stranger')).toMatchObject({ permission: 'read', role_name: 'read' });

      // Octokit's throttling plugin waits out a secondary rate limit and sends again.
      gh.failNext('POST', /\/issues\/8\/comments$/, {
        status: 403,
        headers: { 'retry-after': '1' },
        body: { message: 'You have exceeded a secondary rate limit' },
      });
      const started = Date.now();
      await octokit.rest.issues.createComment({ owner: 'octo', repo: 'widgets', issue_number: 8, body: 'after the limit' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(gh.comments('octo', 'widgets', 8).at(-1)).toBe('after the limit');
      expect(gh.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/issues/8/comments')).length).toBe(3);
    });

    it('reads files with getContent, percent-encoded paths included', async () => {
      git.git('octo/widgets', 'branch', 'kit/settings', 'main');
      git.commit('octo/widgets', { '.github/kodah.yml': 'labels: [kodah]\n' }, { branch: 'kit/settings', message: 'settings' });
      const { data } = await octokit.rest.repos.getContent({
        owner: 'octo',
        repo: 'widgets',
        path: '.github/kodah.yml',
        ref: 'kit/settings',
      });
      expect(Array.isArray(data) ? null : Buffer.from((data as { content: string }).content, 'base64').toString()).toBe(
        'labels: [kodah]\n',
      );
      await expect(octokit.rest.repos.getContent({ owner: 'octo', repo: 'widgets', path: '.github/missing.yml' })).rejects.toMatchObject({
        status: 404,
      });
      expect(gh.requests.at(-1)!.path).toBe('/repos/octo/widgets/contents/.github%2Fmissing.yml');
    });

    it('serves check runs, workflow jobs and job logs', async () => {
      const unhandled = gh.unhandled.length;
      const sha = git.branchSha('octo/widgets', 'main')!;
      gh.addWorkflowRun({
        owner: 'octo',
        name: 'widgets',
        id: 555,
        headSha: sha,
        jobs: [
          { id: 9001, name: 'test', conclusion: 'failure' },
          { id: 9002, name: 'lint', conclusion: 'success' },
        ],
      });
      gh.addCheckRun({
        owner: 'octo',
        name: 'widgets',
        id: 9001,
        checkName: 'test',
        headSha: sha,
        conclusion: 'failure',
        output: { title: '1 failed', summary: 'test_total failed', text: 'AssertionError' },
        annotations: [{ path: 'src/app.py', start_line: 2, end_line: 2, annotation_level: 'failure', message: 'assert 0 == None' }],
      });
      gh.addCheckRun({
        owner: 'octo',
        name: 'widgets',
        id: 9002,
        checkName: 'lint',
        headSha: sha,
        conclusion: 'success',
        output: { title: 'ok', summary: 'ok' },
      });
      gh.setJobLog('octo', 'widgets', 9001, '2024-01-01T00:00:00Z FAILED test_total\n');

      const { data: run } = await octokit.rest.checks.get({ owner: 'octo', repo: 'widgets', check_run_id: 9001 });
      expect(run).toMatchObject({
        name: 'test',
        conclusion: 'failure',
        head_sha: sha,
        app: { slug: 'github-actions' },
        output: { annotations_count: 1 },
      });
      expect(run.details_url).toBe('https://github.com/octo/widgets/actions/runs/555/job/9001');
      const { data: annotations } = await octokit.rest.checks.listAnnotations({ owner: 'octo', repo: 'widgets', check_run_id: 9001 });
      expect(annotations).toEqual([
        expect.objectContaining({ path: 'src/app.py', start_line: 2, annotation_level: 'failure', message: 'assert 0 == None' }),
      ]);
      const forRef = await octokit.rest.checks.listForRef({ owner: 'octo', repo: 'widgets', ref: 'main' });
      expect(forRef.data.check_runs.map((r) => r.name).sort()).toEqual(['lint', 'test']);
      const forSuite = await octokit.rest.checks.listForSuite({
        owner: 'octo',
        repo: 'widgets',
        check_suite_id: run.check_suite!.id,
        status: 'completed',
      });
      expect(forSuite.data.total_count).toBe(2);

      const { data: jobs } = await octokit.rest.actions.listJobsForWorkflowRun({ owner: 'octo', repo: 'widgets', run_id: 555 });
      expect(jobs.jobs.map((j) => [j.id, j.name, j.conclusion, j.status, j.run_id])).toEqual([
        [9001, 'test', 'failure', 'completed', 555],
        [9002, 'lint', 'success', 'completed', 555],
      ]);
      const log = await octokit.rest.actions.downloadJobLogsForWorkflowRun({ owner: 'octo', repo: 'widgets', job_id: 9001 });
      expect(log.data).toBe('2024-01-01T00:00:00Z FAILED test_total\n');
      const redirected = gh.requests.find((r) => r.path.startsWith('/_logs/'));
      expect(redirected).toBeDefined();
      expect(gh.unhandled.slice(unhandled)).toEqual([]);
    });
  });

  it('measures how many writes were in flight at once', async () => {
    gh.addIssue('octo', 'widgets', { number: 32, title: 'Bursts' });
    // Every write so far was awaited (or serialized by Octokit's throttling); these three go out together.
    expect(gh.maxConcurrentWrites(1)).toBeLessThanOrEqual(1);
    const { json } = await mint();
    await Promise.all([1, 2, 3].map((i) => api(json.token, 'POST', '/repos/octo/widgets/issues/32/comments', { body: `burst ${i}` })));
    expect(gh.maxConcurrentWrites(1)).toBeGreaterThanOrEqual(2);
    expect(gh.maxConcurrentWrites()).toBe(gh.maxConcurrentWrites(1));
    expect(gh.maxConcurrentWrites(99)).toBe(0);
    const writes = gh.writeTimes();
    expect(writes.at(-1)).toMatchObject({ method: 'POST', path: '/repos/octo/widgets/issues/32/comments', installationId: 1, status: 201 });
    expect(writes.every((w) => w.end >= w.start)).toBe(true);
  });

  it('sends webhooks signed the way @octokit/webhooks-methods verifies them', async () => {
    const received: Array<{ headers: IncomingHttpHeaders; body: string; url: string }> = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), url: req.url ?? '' });
        res.writeHead(202).end('accepted');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiver = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const payload = adaptRepository(
        loadExample('issues', (p) => p.action === 'labeled'),
        { owner: 'octo', name: 'widgets', id: 101, installationId: 1 },
      );
      const sent = await sendWebhook(receiver, 'issues', payload, { secret: 's3cret' });
      expect(sent).toMatchObject({ status: 202, body: 'accepted' });
      expect(sent.ms).toBeGreaterThanOrEqual(0);
      const [delivery] = received;
      expect(delivery!.url).toBe('/api/github/webhooks');
      expect(delivery!.headers).toMatchObject({
        'x-github-event': 'issues',
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/abc',
      });
      expect(delivery!.headers['x-github-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      expect(await verify('s3cret', delivery!.body, String(delivery!.headers['x-hub-signature-256']))).toBe(true);
      expect(await verify('other', delivery!.body, String(delivery!.headers['x-hub-signature-256']))).toBe(false);

      await sendWebhook(receiver, 'issues', payload, {
        secret: 's3cret',
        signature: `sha256=${'0'.repeat(64)}`,
        delivery: 'fixed-id',
        path: '/hooks',
      });
      expect(received[1]!.url).toBe('/hooks');
      expect(received[1]!.headers['x-github-delivery']).toBe('fixed-id');
      expect(await verify('s3cret', received[1]!.body, String(received[1]!.headers['x-hub-signature-256']))).toBe(false);
      await sendWebhook(receiver, 'issues', payload, { secret: 's3cret', signature: null });
      expect(received[2]!.headers).not.toHaveProperty('x-hub-signature-256');
      await sendWebhook(receiver, 'issues', payload, { secret: 's3cret', rawBody: '{"zen":"x"}' });
      expect(received[3]!.body).toBe('{"zen":"x"}');
      expect(await verify('s3cret', received[3]!.body, String(received[3]!.headers['x-hub-signature-256']))).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('loads real example payloads and points them at a fake repository', () => {
    const labeled = loadExample('issues', (p) => p.action === 'labeled');
    expect(labeled.action).toBe('labeled');
    expect(typeof labeled.label.name).toBe('string');
    const originalRepo = labeled.repository.full_name;
    labeled.label.name = 'changed';
    expect(loadExample('issues', (p) => p.action === 'labeled').label.name).not.toBe('changed');
    expect(() => loadExample('issues', (p) => p.action === 'exploded')).toThrow(/actions: .*labeled/);
    expect(() => loadExample('no_such_event')).toThrow();

    const adapted = adaptRepository(
      loadExample('issues', (p) => p.action === 'labeled'),
      {
        owner: 'octo',
        name: 'widgets',
        id: 101,
        private: true,
        ownerId: 10,
        cloneUrl: git.url('octo/widgets'),
        defaultBranch: 'main',
        installationId: 1,
      },
    );
    expect(adapted.repository).toMatchObject({
      id: 101,
      name: 'widgets',
      full_name: 'octo/widgets',
      private: true,
      default_branch: 'main',
      owner: { login: 'octo', id: 10 },
      html_url: 'https://github.com/octo/widgets',
      clone_url: git.url('octo/widgets'),
      url: 'https://api.github.com/repos/octo/widgets',
    });
    expect(adapted.installation.id).toBe(1);
    expect(adapted.issue.html_url).toMatch(/^https:\/\/github\.com\/octo\/widgets\/issues\/\d+$/);
    expect(JSON.stringify(adapted)).not.toContain(`github.com/${originalRepo}`);
    // The rest of the real payload is left alone; only URLs that named the old repository change.
    const { url: labelUrl, ...label } = loadExample('issues', (p) => p.action === 'labeled').label;
    expect(adapted.label).toEqual({ ...label, url: labelUrl.replace(originalRepo, 'octo/widgets') });
    expect(adapted.label.url).toBe('https://api.github.com/repos/octo/widgets/labels/bug');

    const pr = adaptRepository(
      loadExample('pull_request', (p) => p.action === 'opened'),
      { owner: 'octo', name: 'widgets', id: 101, installationId: 1 },
    );
    expect(pr.pull_request.base.repo.full_name).toBe('octo/widgets');
    expect(pr.pull_request.base.label).toBe(`octo:${pr.pull_request.base.ref}`);
  });
});
