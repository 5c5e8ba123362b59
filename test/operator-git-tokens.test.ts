import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUsesOperatorTokens } from '../src/billing/accounts.js';
import { cancelIndexTasks, enqueueIndex } from '../src/code-index/index-queue.js';
import { findRepository } from '../src/code-index/repositories.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { databaseKinds } from './helpers/test-database.js';
import { startTestApp, type TestApp, waitForJob } from './helpers/test-app.js';
import { waitForFailedStep, waitForIndex } from './helpers/wait-for-index.js';

const FILES = { 'vault/ledger.py': 'def reconcile_vault_ledger(entries):\n    return sum(e["amount"] for e in entries)\n' };

/**
 * KODAH_GIT_TOKENS serve only the accounts the operator marked: to any other account a private
 * repository is what it is without a token — not found — on the jobs API, the code index and MCP.
 */
describe.each(databaseKinds)("the operator's git tokens on %s", (kind) => {
  let git: GitHttpServer;
  let app: TestApp;
  let commit: string;
  let marked: { id: string; key: string };
  let unmarked: { id: string; key: string };
  let repoId: string | undefined;

  const fix = (repo: string) => ({ repo_url: git.url(repo), task: 'fix', description: 'reconcile_vault_ledger is off by one' });
  const addRepository = (key: string, repo: string) =>
    app.api(key, 'POST', '/api/v1/repositories', { data: { type: 'repository', attributes: { remote_uri: git.url(repo) } } });
  const search = (key: string) =>
    app.api(key, 'POST', '/api/v1/search', { data: { type: 'search', attributes: { keywords: ['reconcile_vault_ledger'] } } });
  /** The git requests made since `from` that carried a token. */
  const withToken = (from: number) => git.authLog.slice(from).filter((e) => e.token !== null);

  async function mcp(key: string): Promise<Client> {
    const client = new Client({ name: 'kodah-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), { requestInit: { headers: { 'X-API-Key': key } } }));
    return client;
  }

  beforeAll(async () => {
    git = await startGitHttpServer();
    commit = git.createRepo('vault', FILES, { private: true });
    app = await startTestApp(kind, { env: { KODAH_GIT_TOKENS: `127.0.0.1=${git.token}` } });
    // Paid credit for both: credits are never the reason for an answer here.
    marked = await app.account({ paidCents: 500, operatorTokens: true, maxRunningJobs: 5 });
    unmarked = await app.account({ paidCents: 500, maxRunningJobs: 5 });
  });
  afterAll(async () => {
    await app?.stop();
    await git?.close();
  });

  it('an unmarked account gets the answers of a repository that does not exist, and the token is never sent', async () => {
    const from = git.authLog.length;
    const job = await app.api(unmarked.key, 'POST', '/jobs', fix('vault'));
    expect(job).toMatchObject({ status: 404, body: { detail: 'Repository not found' } });
    expect((await app.api(unmarked.key, 'POST', '/jobs', fix('nothing-here'))).body).toEqual(job.body);

    const added = await addRepository(unmarked.key, 'vault');
    expect(added.status).toBe(422);
    expect(added.body.detail).toBe(`remote_uri: no repository at ${git.url('vault')} (or it is private and no credentials reach it)`);
    const missing = await addRepository(unmarked.key, 'nothing-here');
    expect(missing.body.detail).toBe(added.body.detail.replace(git.url('vault'), git.url('nothing-here')));
    expect((await app.api(unmarked.key, 'GET', '/api/v1/repositories')).body.data).toEqual([]);
    expect(withToken(from)).toEqual([]);
  });

  it('a marked account reads it: the job is accepted, the code index clones and searches it, MCP serves it', async () => {
    const job = await app.api(marked.key, 'POST', '/jobs', fix('vault'));
    expect(job.status).toBe(202);
    // No model here: the job fails as our error and is refunded, after the worker read the repository.
    expect(await waitForJob(app, marked.key, job.body.job_id)).toMatchObject({ status: 'failed', error: 'fix engine not configured' });

    const added = await addRepository(marked.key, 'vault');
    expect(added.status).toBe(201);
    repoId = added.body.data.id as string;
    await waitForIndex(app, marked.key, repoId, commit);
    expect((await search(marked.key)).body.data[0].attributes).toMatchObject({ relative_path: 'vault/ledger.py', commit_sha: commit });

    const client = await mcp(marked.key);
    try {
      const repos = (await client.callTool({ name: 'list_repositories', arguments: {} })).structuredContent as any;
      expect(repos.repositories.map((r: any) => r.id)).toEqual([repoId]);
      const hit = await client.callTool({ name: 'search_code', arguments: { keywords: ['reconcile_vault_ledger'] } });
      expect((hit.structuredContent as any).results[0]).toMatchObject({ path: 'vault/ledger.py', commit });
    } finally {
      await client.close();
    }
    // MCP reads the account's own index only: the unmarked account sees nothing of it.
    const other = await mcp(unmarked.key);
    try {
      expect((await other.callTool({ name: 'list_repositories', arguments: {} })).structuredContent).toEqual({ repositories: [] });
      const none = await other.callTool({ name: 'search_code', arguments: { keywords: ['reconcile_vault_ledger'] } });
      expect((none.structuredContent as any)?.results ?? []).toEqual([]);
      const file = await other.callTool({ name: 'get_file', arguments: { repository: repoId, path: 'vault/ledger.py' } });
      expect(file.isError).toBe(true);
    } finally {
      await other.close();
    }
    expect((await search(unmarked.key)).body.data).toEqual([]);
  });

  it('unmarking takes effect at once: new jobs, syncs and index runs fail; what was indexed stays searchable by that account alone', async () => {
    expect(repoId).toBeDefined();
    await setUsesOperatorTokens(app.kodah.db, marked.id, false);

    // The repository check of the last test is still cached, but a private answer needs credentials.
    expect(await app.api(marked.key, 'POST', '/jobs', fix('vault'))).toMatchObject({
      status: 404,
      body: { detail: 'Repository not found' },
    });
    const sync = await app.api(marked.key, 'POST', '/api/v1/indexes', { data: { type: 'index', attributes: { uri: git.url('vault') } } });
    expect(sync.status).toBe(422);
    expect(sync.body.detail).toMatch(/no repository at .* \(or it is private and no credentials reach it\)/);

    // A run already queued (or a retry) fetches without the token, and fails.
    const from = git.authLog.length;
    git.commit('vault', { 'vault/new.py': 'x = 1\n' });
    await enqueueIndex(app.kodah.boss, (await findRepository(app.kodah.db, repoId!))!);
    const failed = await waitForFailedStep(app, marked.key, repoId!);
    expect(failed.attributes).toMatchObject({ state: 'failed', error: expect.stringMatching(/git fetch of .* failed/) });
    expect(withToken(from)).toEqual([]);

    // The indexed commit is the account's own copy: still searchable by it, by nobody else.
    expect((await app.api(marked.key, 'GET', `/api/v1/repositories/${repoId}`)).body.data.attributes.indexed_commit_sha).toBe(commit);
    expect((await search(marked.key)).body.data[0].attributes.relative_path).toBe('vault/ledger.py');
    expect((await search(unmarked.key)).body.data).toEqual([]);

    // Marked again, it reads the repository again (the failed run, waiting for its retry, is dropped first).
    await cancelIndexTasks(app.kodah.boss, repoId!);
    await setUsesOperatorTokens(app.kodah.db, marked.id, true);
    const again = await app.api(marked.key, 'POST', '/api/v1/indexes', { data: { type: 'index', attributes: { uri: git.url('vault') } } });
    expect(again.status).toBe(202);
    await waitForIndex(app, marked.key, repoId!, git.branchSha('vault', 'main')!);
  });
});
