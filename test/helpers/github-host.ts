import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeGitHub } from './fake-github.js';
import type { GitHttpServer } from './git-http-server.js';

/** One address for GitHub's web pages and its git, as github.com is (GITHUB_URL). */
export interface GitHubHost {
  /** GITHUB_URL: `/login/oauth/…` and the rest go to the fake GitHub, `/owner/name.git/…` to the git server. */
  readonly url: string;
  /** The clone URL of a repository `owner/name` made in the git server. */
  cloneUrl(fullName: string): string;
  close(): Promise<void>;
}

const GIT_PATH = /^\/[^/]+\/[^/]+\.git(?:\/|$)/;

/**
 * Kodah clones `${GITHUB_URL}/owner/name.git` and sends people to `${GITHUB_URL}/login/oauth/…`:
 * on github.com one host serves both. The fake GitHub and the git server are two, so this proxy
 * puts them behind one address, streaming each request through unchanged (git's bodies are binary).
 */
export async function startGitHubHost(github: FakeGitHub, git: GitHttpServer): Promise<GitHubHost> {
  const gitOrigin = new URL(git.url('owner/name')).origin;
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? '/', GIT_PATH.test(req.url ?? '') ? gitOrigin : github.webUrl);
    const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    cloneUrl: (fullName) => `${url}/${fullName}.git`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
