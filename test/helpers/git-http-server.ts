import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface GitHttpServer {
  /** The clone URL of a repository made with createRepo. */
  url(name: string): string;
  /** A bare repository with one commit of `files` on `branch`; returns the commit sha. */
  createRepo(name: string, files: Record<string, string>, options?: { branch?: string; private?: boolean }): string;
  /**
   * Adds a commit on top of `branch` (default main): files to write, or null to delete; returns
   * its sha. `author` is "Name <email>", `date` an ISO date.
   */
  commit(name: string, files: Record<string, string | null>, options?: { branch?: string; author?: string; date?: string; message?: string }): string;
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
  /** The token that private repositories accept (as the password of Basic auth). */
  readonly token: string;
  requests: number;
  close(): Promise<void>;
}

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: tmpdir() };

/** A real git smart-HTTP server: `git http-backend` behind node's HTTP server, as CGI. */
export async function startGitHttpServer(): Promise<GitHttpServer> {
  const root = mkdtempSync(path.join(tmpdir(), 'kodah-git-'));
  const privateRepos = new Set<string>();
  const token = 'test-token-0123456789';
  const hung = new Set<ServerResponse>();
  let hang = false;
  let refsBeforeHang = Number.POSITIVE_INFINITY;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    state.requests++;
    if (req.url?.includes('/info/refs') && --refsBeforeHang < 0) hang = true;
    if (hang) {
      hung.add(res);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const repo = url.pathname.split('/')[1] ?? '';
    if (privateRepos.has(repo)) {
      const auth = req.headers.authorization ?? '';
      const password = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString().split(':')[1] : undefined;
      if (password !== token) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('authentication required');
        return;
      }
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

  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();

  const state: GitHttpServer = {
    token,
    requests: 0,
    url: (name) => `http://127.0.0.1:${port}/${name}/repo.git`,
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
      const bare = path.join(root, name, 'repo.git');
      mkdirSync(path.dirname(bare), { recursive: true });
      git(root, 'clone', '-q', '--bare', work, bare);
      rmSync(work, { recursive: true, force: true });
      if (options.private) privateRepos.add(name);
      return git(bare, 'rev-parse', branch);
    },
    commit(name, files, options = {}) {
      const branch = options.branch ?? 'main';
      const bare = path.join(root, name, 'repo.git');
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
      execFileSync('git', ['-c', `user.name=${authorName}`, '-c', `user.email=${email}`, 'commit', '-q', '-m', options.message ?? 'change', ...dated], {
        cwd: work,
        env: { ...GIT_ENV, ...(options.date ? { GIT_COMMITTER_DATE: options.date } : {}) },
      });
      git(work, 'push', '-q', 'origin', branch);
      const sha = git(work, 'rev-parse', 'HEAD');
      rmSync(work, { recursive: true, force: true });
      return sha;
    },
    path: (name) => path.join(root, name, 'repo.git'),
    git: (name, ...args) => git(path.join(root, name, 'repo.git'), ...args),
    removeRepo: (name) => rmSync(path.join(root, name), { recursive: true, force: true }),
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
