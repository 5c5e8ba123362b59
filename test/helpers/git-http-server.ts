import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** One request as the auth check saw it (see GitHttpServer.authLog). */
export interface GitAuthLogEntry {
  /** The repository name as given to createRepo ("shop", "octo-org/widgets"). */
  repo: string;
  service: 'upload-pack' | 'receive-pack' | 'other';
  /** The password of the request's Basic auth; null when it sent none. */
  token: string | null;
}

/** One commit as GitHttpServer.log returns it. */
export interface GitLogEntry {
  sha: string;
  parents: string[];
  subject: string;
  body: string;
  /** The paths the commit changed (against its first parent; every path for a root commit). */
  files: string[];
}

/**
 * Repository names are either plain ("shop": `<root>/shop/repo.git`, served at `/shop/repo.git`)
 * or GitHub style ("octo-org/widgets": `<root>/octo-org/widgets.git`, served at
 * `/octo-org/widgets.git`), so a fake GitHub can hand out clone URLs shaped like the real ones.
 */
export interface GitHttpServer {
  /** The clone URL of a repository made with createRepo. */
  url(name: string): string;
  /**
   * A bare repository with one commit of `files` on `branch`; returns the commit sha. A private
   * one answers reads only with Basic auth whose password is `token` or a token granted with
   * allowToken. Pushes (`git push` to url(name)) are enabled, and always need such a password.
   */
  createRepo(name: string, files: Record<string, string>, options?: { branch?: string; private?: boolean }): string;
  /**
   * Adds a commit on top of `branch` (default main): files to write, or null to delete; returns
   * its sha. `author` is "Name <email>", `date` an ISO date.
   */
  commit(
    name: string,
    files: Record<string, string | null>,
    options?: { branch?: string; author?: string; date?: string; message?: string },
  ): string;
  /** The bare repository's folder. */
  path(name: string): string;
  /** Runs git in the bare repository (to add or delete branches and tags). */
  git(name: string, ...args: string[]): string;
  /** Deletes the repository: it answers 404 from now on. */
  removeRepo(name: string): void;
  /** While on, every request is accepted and never answered (a hung server). */
  setHang(hang: boolean): void;
  /** Answers the next `n` ref advertisements (one per ls-remote, clone or fetch), then hangs. */
  hangAfterRefs(n: number): void;
  /** The token that every repository accepts, for reads and pushes (as the password of Basic auth). */
  readonly token: string;
  /**
   * Accepts `token` (as the Basic password, any username, e.g. x-access-token) for reads of the
   * private repositories among `names` and for pushes to them; '*' for every repository.
   * Granting the same token again replaces its list. `push: false` makes it read-only (a token
   * with contents: read): pushes with it get 403, as on GitHub.
   */
  allowToken(token: string, names: string[] | '*', options?: { push?: boolean }): void;
  /** Stops accepting a token granted with allowToken. */
  revokeToken(token: string): void;
  /** Each request's repository, service and Basic password, in order (hung ones too). */
  authLog: GitAuthLogEntry[];
  /** The sha `branch` points at, or null when there is no such branch. */
  branchSha(name: string, branch: string): string | null;
  /** The last `n` (default 20) commits reachable from `ref`, newest first. */
  log(name: string, ref: string, n?: number): GitLogEntry[];
  requests: number;
  close(): Promise<void>;
}

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: tmpdir() };

/** The bare repository's folder, relative to the server root, for either kind of name. */
const relativeRepoPath = (name: string) => (name.includes('/') ? `${name}.git` : path.join(name, 'repo.git'));

/** The service a smart-HTTP request is for: `?service=` on info/refs, or the RPC path. */
function serviceOf(url: URL): GitAuthLogEntry['service'] {
  const service = url.searchParams.get('service') ?? url.pathname.split('/').pop() ?? '';
  if (service === 'git-upload-pack') return 'upload-pack';
  if (service === 'git-receive-pack') return 'receive-pack';
  return 'other';
}

/** The password of a Basic authorization header (any username), or null. */
function basicPassword(header: string | undefined): string | null {
  if (!header || !/^basic /i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString();
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}

/** A real git smart-HTTP server: `git http-backend` behind node's HTTP server, as CGI. */
export async function startGitHttpServer(): Promise<GitHttpServer> {
  const root = mkdtempSync(path.join(tmpdir(), 'kodah-git-'));
  const privateRepos = new Set<string>();
  // Names made with createRepo: they tell "/shop/repo.git/..." (plain name "shop") apart from
  // "/octo/widgets.git/..." (GitHub-style name "octo/widgets") when reading a request's path.
  const knownRepos = new Set<string>();
  const grants = new Map<string, { repos: Set<string> | '*'; push: boolean }>();
  const token = 'test-token-0123456789';
  const hung = new Set<ServerResponse>();
  let hang = false;
  let refsBeforeHang = Number.POSITIVE_INFINITY;

  /** The repository name a request path is for, in either layout. */
  const repoFromPath = (pathname: string): string => {
    let decoded = pathname;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      // a malformed escape: keep the raw path (http-backend answers it with an error)
    }
    const [first = '', second = ''] = decoded.split('/').filter(Boolean);
    if (second === 'repo.git' && knownRepos.has(first)) return first;
    if (second.endsWith('.git')) return `${first}/${second.slice(0, -4)}`;
    return first;
  };

  /** 'ok', 'read-only' (may read, not push) or 'refused', for a Basic password on a repository. */
  const access = (password: string | null, repo: string): 'ok' | 'read-only' | 'refused' => {
    if (password === null) return 'refused';
    if (password === token) return 'ok';
    const grant = grants.get(password);
    if (!grant || (grant.repos !== '*' && !grant.repos.has(repo))) return 'refused';
    return grant.push ? 'ok' : 'read-only';
  };

  // Everything here stays asynchronous: tests run git clients against this server from the same
  // process, and a synchronous child process in this path would block the answers they wait for.
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://x');
    const repo = repoFromPath(url.pathname);
    const service = serviceOf(url);
    const password = basicPassword(req.headers.authorization);
    state.authLog.push({ repo, service, token: password });
    if (req.url?.includes('/info/refs') && --refsBeforeHang < 0) hang = true;
    if (hang) {
      hung.add(res);
      return;
    }
    // Like GitHub: anyone may read a public repository, only a token holder may push to any.
    const needsAuth = service === 'receive-pack' || privateRepos.has(repo);
    const granted = access(password, repo);
    if (needsAuth && granted === 'refused') {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('authentication required');
      return;
    }
    if (service === 'receive-pack' && granted === 'read-only') {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`Permission to ${repo}.git denied.`);
      return;
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...GIT_ENV,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        REQUEST_METHOD: req.method ?? 'GET',
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: 'kodah-test',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => {
      if (!headersDone) res.writeHead(500);
      res.end();
    });
    cgi.on('error', () => res.destroy());
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();

  const barePath = (name: string) => path.join(root, relativeRepoPath(name));

  const state: GitHttpServer = {
    token,
    requests: 0,
    authLog: [],
    url: (name) => `http://127.0.0.1:${port}/${relativeRepoPath(name).split(path.sep).join('/')}`,
    createRepo(name, files, options = {}) {
      const branch = options.branch ?? 'main';
      const work = mkdtempSync(path.join(tmpdir(), 'kodah-work-'));
      git(work, 'init', '-q', '-b', branch);
      for (const [file, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
        writeFileSync(path.join(work, file), content);
      }
      git(work, 'add', '-A');
      git(work, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'commit', '-q', '-m', 'initial');
      const bare = barePath(name);
      mkdirSync(path.dirname(bare), { recursive: true });
      git(root, 'clone', '-q', '--bare', work, bare);
      rmSync(work, { recursive: true, force: true });
      // http-backend only runs receive-pack for a repository that allows it (see git-http-backend(1)).
      git(bare, 'config', 'http.receivepack', 'true');
      knownRepos.add(name);
      if (options.private) privateRepos.add(name);
      return git(bare, 'rev-parse', branch);
    },
    commit(name, files, options = {}) {
      const branch = options.branch ?? 'main';
      const bare = barePath(name);
      const work = mkdtempSync(path.join(tmpdir(), 'kodah-work-'));
      git(work, 'clone', '-q', '-b', branch, bare, '.');
      for (const [file, content] of Object.entries(files)) {
        const target = path.join(work, file);
        if (content === null) rmSync(target, { force: true });
        else {
          mkdirSync(path.dirname(target), { recursive: true });
          writeFileSync(target, content);
        }
      }
      git(work, 'add', '-A');
      const [, authorName = 'Test', email = 'test@example.com'] = /^(.*?)\s*<(.*)>$/.exec(options.author ?? '') ?? [];
      const dated = options.date ? ['--date', options.date] : [];
      execFileSync(
        'git',
        ['-c', `user.name=${authorName}`, '-c', `user.email=${email}`, 'commit', '-q', '-m', options.message ?? 'change', ...dated],
        {
          cwd: work,
          env: { ...GIT_ENV, ...(options.date ? { GIT_COMMITTER_DATE: options.date } : {}) },
        },
      );
      git(work, 'push', '-q', 'origin', branch);
      const sha = git(work, 'rev-parse', 'HEAD');
      rmSync(work, { recursive: true, force: true });
      return sha;
    },
    path: barePath,
    git: (name, ...args) => git(barePath(name), ...args),
    // A plain name owns its whole folder; a GitHub-style one only its .git folder (the owner's
    // folder may hold other repositories).
    removeRepo: (name) => rmSync(name.includes('/') ? barePath(name) : path.join(root, name), { recursive: true, force: true }),
    allowToken(granted, names, options = {}) {
      grants.set(granted, { repos: names === '*' ? '*' : new Set(names), push: options.push ?? true });
    },
    revokeToken(granted) {
      grants.delete(granted);
    },
    branchSha(name, branch) {
      try {
        return git(barePath(name), 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`) || null;
      } catch {
        return null; // --verify --quiet exits 1 when the branch does not exist
      }
    },
    log(name, ref, n = 20) {
      const bare = barePath(name);
      // NUL-separated fields and a record separator, so subjects and bodies may hold anything else.
      const raw = git(bare, 'log', `-n${n}`, '--format=%H%x00%P%x00%s%x00%b%x1e', ref, '--');
      return raw
        .split('\x1e')
        .map((record) => record.trim())
        .filter(Boolean)
        .map((record) => {
          const [sha = '', parents = '', subject = '', body = ''] = record.split('\0');
          const parentList = parents.split(' ').filter(Boolean);
          const changed = parentList[0]
            ? git(bare, 'diff', '--name-only', parentList[0], sha)
            : git(bare, 'diff-tree', '--no-commit-id', '--name-only', '-r', '--root', sha);
          return { sha, parents: parentList, subject, body: body.trim(), files: changed.split('\n').filter(Boolean) };
        });
    },
    hangAfterRefs(n) {
      refsBeforeHang = n;
    },
    setHang(value) {
      hang = value;
      if (!value) refsBeforeHang = Number.POSITIVE_INFINITY;
      if (!value) {
        for (const res of hung) res.destroy();
        hung.clear();
      }
    },
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  return state;
}
