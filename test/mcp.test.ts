import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { kodahCommand, spawnKodah } from './helpers/kodah-process.js';
import { databaseKinds } from './helpers/test-database.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { waitForIndex } from './helpers/wait-for-index.js';

const ROOT = path.resolve(import.meta.dirname, '..');

const FILES: Record<string, string> = {
  'billing/invoice.py':
    'class Invoice:\n    def __init__(self, lines):\n        self.lines = lines\n\ndef calculate_total(lines):\n    total = 0\n    for line in lines:\n        total += line["price"] * line["quantity"]\n    return total\n',
  'web/render.ts': 'export function renderInvoiceTotal(total: number): string {\n  return `Invoice total: ${total.toFixed(2)}`;\n}\n',
};

const text = (result: any): string => result.content.map((c: any) => c.text).join('\n');

describe.each(databaseKinds)('MCP server on %s', (kind) => {
  let git: GitHttpServer;
  let app: TestApp;
  let key: string;
  let other: string;
  let repoId: string;
  let commit: string;
  let remote: string;

  async function httpClient(apiKey: string): Promise<Client> {
    const client = new Client({ name: 'kodah-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), { requestInit: { headers: { 'X-API-Key': apiKey } } }),
    );
    return client;
  }

  beforeAll(async () => {
    git = await startGitHttpServer();
    commit = git.createRepo('invoices', FILES);
    app = await startTestApp(kind);
    ({ key } = await app.account());
    ({ key: other } = await app.account());
    const created = await app.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url('invoices') } },
    });
    expect(created.status).toBe(201);
    repoId = created.body.data.id;
    remote = created.body.data.attributes.remote_uri;
    await waitForIndex(app, key, repoId, commit);
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await git?.close();
  });

  it('serves the tools over streamable HTTP at /mcp with the API key', async () => {
    const client = await httpClient(key);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['get_file', 'list_repositories', 'search_code']);
      const search = tools.find((t) => t.name === 'search_code')!;
      expect(Object.keys(search.inputSchema.properties ?? {}).sort()).toEqual(['code', 'filters', 'keywords', 'limit', 'text']);

      const repos = await client.callTool({ name: 'list_repositories', arguments: {} });
      expect(repos.structuredContent).toEqual({
        repositories: [{ id: repoId, url: remote, default_branch: 'main', indexed_commit: commit }],
      });

      const hit = await client.callTool({ name: 'search_code', arguments: { keywords: ['calculate_total'] } });
      expect(hit.isError).toBeFalsy();
      const results = (hit.structuredContent as any).results;
      expect(results[0]).toMatchObject({
        path: 'billing/invoice.py',
        repository: remote,
        commit,
        language: 'python',
        name: 'calculate_total',
      });
      expect(results[0].content).toContain('def calculate_total(lines):');
      expect(text(hit).split('\n').slice(0, 4)).toEqual([
        '1. billing/invoice.py:5-9',
        `repository: ${remote} (commit ${commit.slice(0, 12)})`,
        expect.stringMatching(/^language: python, function calculate_total, score: \d+\.\d{4}$/),
        '```python',
      ]);
      expect(text(hit)).toContain('total += line["price"] * line["quantity"]');

      const paths = async (filters: object) => {
        const result = await client.callTool({ name: 'search_code', arguments: { keywords: ['total', 'invoice'], filters } });
        expect(result.isError).toBeFalsy();
        return new Set((result.structuredContent as any).results.map((r: any) => r.path));
      };
      expect(await paths({})).toEqual(new Set(['billing/invoice.py', 'web/render.ts']));
      expect(await paths({ languages: ['typescript'] })).toEqual(new Set(['web/render.ts']));
      expect(await paths({ file_patterns: ['*.py'] })).toEqual(new Set(['billing/invoice.py']));

      const file = await client.callTool({ name: 'get_file', arguments: { repository: repoId, path: 'web/render.ts' } });
      expect(file.isError).toBeFalsy();
      expect(text(file)).toBe(FILES['web/render.ts']);
      const byUrl = await client.callTool({
        name: 'get_file',
        arguments: { repository: `${remote.replace(/\.git$/, '')}/`, path: 'billing/invoice.py', commit: commit.slice(0, 10) },
      });
      expect(text(byUrl)).toBe(FILES['billing/invoice.py']);
    } finally {
      await client.close();
    }
  });

  it('answers bad input with tool errors that say what to fix', async () => {
    const client = await httpClient(key);
    try {
      const glob = await client.callTool({
        name: 'search_code',
        arguments: { keywords: ['total'], filters: { file_patterns: ['src/[abc'] } },
      });
      expect(glob.isError).toBe(true);
      expect(text(glob)).toMatch(/filters\.file_patterns: "src\/\[abc" is not a valid glob/);

      const empty = await client.callTool({ name: 'search_code', arguments: { limit: 5 } });
      expect(empty.isError).toBe(true);
      expect(text(empty)).toBe('give keywords, code or text to search for');

      const limit = await client.callTool({ name: 'search_code', arguments: { keywords: ['total'], limit: 1000 } });
      expect(limit.isError).toBe(true);
      expect(text(limit)).toMatch(/limit/);

      const noRepo = await client.callTool({ name: 'get_file', arguments: { repository: '999999', path: 'web/render.ts' } });
      expect(noRepo).toMatchObject({
        isError: true,
        content: [{ type: 'text', text: expect.stringMatching(/^Repository 999999 not found/) }],
      });
      const noPath = await client.callTool({ name: 'get_file', arguments: { repository: repoId, path: 'web/missing.ts' } });
      expect(noPath).toMatchObject({
        isError: true,
        content: [{ type: 'text', text: expect.stringMatching(/^File web\/missing\.ts not found at commit/) }],
      });
      const noCommit = await client.callTool({
        name: 'get_file',
        arguments: { repository: repoId, path: 'web/render.ts', commit: 'deadbeef' },
      });
      expect(noCommit).toMatchObject({
        isError: true,
        content: [{ type: 'text', text: expect.stringMatching(/not found at commit deadbeef/) }],
      });
    } finally {
      await client.close();
    }
  });

  it('keeps each account to its own index and refuses requests without a valid key', async () => {
    const client = await httpClient(other);
    try {
      expect((await client.callTool({ name: 'list_repositories', arguments: {} })).structuredContent).toEqual({ repositories: [] });
      expect((await client.callTool({ name: 'search_code', arguments: { keywords: ['calculate_total'] } })).structuredContent).toEqual({
        results: [],
      });
      const file = await client.callTool({ name: 'get_file', arguments: { repository: repoId, path: 'web/render.ts' } });
      expect(file.isError).toBe(true);
    } finally {
      await client.close();
    }

    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    const anonymous = await app.api(null, 'POST', '/mcp', init);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ detail: 'Missing API key: send it in the X-API-Key header' });
    const wrong = await fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: { authorization: 'Bearer kdh_not-a-real-key-000000000000000000000000', 'content-type': 'application/json' },
      body: JSON.stringify(init),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ detail: 'Invalid API key' });
    const get = await app.api(key, 'GET', '/mcp');
    expect(get.status).toBe(405);
  });

  it('serves the same tools on stdio through `kodah mcp`, reading the running server over HTTP', async () => {
    const transport = new StdioClientTransport({
      ...kodahCommand(['mcp', '--url', app.url, '--key', key]),
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'warn' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'kodah-test', version: '1' });
    await client.connect(transport);
    try {
      const hit = await client.callTool({
        name: 'search_code',
        arguments: { keywords: ['renderInvoiceTotal'], filters: { languages: ['ts'] } },
      });
      expect(hit.isError, stderr).toBeFalsy();
      expect((hit.structuredContent as any).results).toEqual([
        expect.objectContaining({ path: 'web/render.ts', repository: remote, commit, language: 'typescript' }),
      ]);
      expect(text(hit)).toContain('return `Invoice total: ${total.toFixed(2)}`;');

      const file = await client.callTool({ name: 'get_file', arguments: { repository: remote, path: 'billing/invoice.py' } });
      expect(text(file)).toBe(FILES['billing/invoice.py']);

      const glob = await client.callTool({
        name: 'search_code',
        arguments: { keywords: ['total'], filters: { file_patterns: ['src/[abc'] } },
      });
      expect(glob.isError).toBe(true);
      expect(text(glob)).toMatch(/filters\.file_patterns: "src\/\[abc" is not a valid glob/);
      const missing = await client.callTool({ name: 'get_file', arguments: { repository: repoId, path: 'nope.txt' } });
      expect(missing).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^File nope\.txt not found/) }] });
    } finally {
      await client.close();
    }
  }, 30_000);

  it('`kodah mcp` without a key, or with a wrong one, says so', async () => {
    const noKey = spawnKodah(['mcp', '--url', app.url], {});
    expect(await noKey.exited).toBe(1);
    expect(noKey.output()).toContain('kodah mcp needs an API key: pass --key kdh_… or set KODAH_API_KEY');

    const transport = new StdioClientTransport({
      ...kodahCommand(['mcp', '--url', app.url]),
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'warn', KODAH_API_KEY: 'kdh_wrong-key-0000000000000000000000000000' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'kodah-test', version: '1' });
    await client.connect(transport);
    try {
      const repos = await client.callTool({ name: 'list_repositories', arguments: {} });
      expect(repos).toMatchObject({ isError: true, content: [{ text: 'Invalid API key' }] });
    } finally {
      await client.close();
    }
  }, 30_000);
});
