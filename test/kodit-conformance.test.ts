import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { databaseKinds } from './helpers/test-database.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { waitForIndex } from './helpers/wait-for-index.js';

/** Kodit's own OpenAPI document (0.4.4), the machine-readable form of spec/kodit-api.md. */
const SPEC = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../shared/spec/kodit-openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, { requestBody?: any; responses: Record<string, any> }>>;
  components: { schemas: Record<string, unknown> };
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
// Kodit's own format for a folder on its disk: any string.
ajv.addFormat('path', true);
ajv.addSchema({ $id: 'kodit', components: SPEC.components });

/** The JSON schema Kodit gives for `method path` answering `status` (or for its request body). */
function schemaOf(method: string, route: string, status: number | 'request'): ValidateFunction {
  const operation = SPEC.paths[route]?.[method.toLowerCase()];
  if (!operation) throw new Error(`Kodit has no ${method} ${route}`);
  const content = status === 'request' ? operation.requestBody?.content : operation.responses[String(status)]?.content;
  const ref = content?.['application/json']?.schema?.$ref as string | undefined;
  if (!ref) throw new Error(`Kodit gives no JSON schema for ${method} ${route} ${status}`);
  return ajv.compile({ $ref: `kodit${ref}` });
}

const validated = new Set<string>();

/** Asserts that `body` is what Kodit's schema for the route allows, naming every difference. */
function conforms(method: string, route: string, status: number | 'request', body: unknown): void {
  const validate = schemaOf(method, route, status);
  const ok = validate(body);
  expect(ok ? [] : validate.errors!.map((e) => `${e.instancePath || '/'} ${e.message} (${e.schemaPath})`), `${method} ${route}`).toEqual(
    [],
  );
  if (status !== 'request') validated.add(`${method} ${route}`);
}

/**
 * Every endpoint of Kodit's API that answers JSON, called on a repository with a history worth
 * checking (a root commit, two commits in the same second, a second branch, an annotated and a
 * lightweight tag), each answer validated against Kodit's own response schema.
 */
describe.each(databaseKinds)('Kodit conformance on %s', (kind) => {
  let git: GitHttpServer;
  let app: TestApp;
  let key: string;
  let repoId: string;
  const shas: Record<string, string> = {};
  const api = (method: string, url: string, body?: unknown) => app.api(key, method, url, body);

  beforeAll(async () => {
    git = await startGitHttpServer();
    shas.root = git.createRepo('history', {
      'calc/core.py': 'def add(a, b):\n    return a + b\n',
      'README.md': '# History\n',
    });
    shas.second = git.commit(
      'history',
      { 'calc/core.py': 'def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n' },
      { date: '2030-01-01T00:00:00Z', message: 'Subtraction' },
    );
    // The same second as its parent: only the history tells them apart.
    shas.third = git.commit(
      'history',
      { 'calc/extra.py': 'def mul(a, b):\n    return a * b\n' },
      { date: '2030-01-01T00:00:00Z', message: 'Multiplication' },
    );
    git.git('history', 'branch', 'feature', shas.second);
    shas.feature = git.commit(
      'history',
      { 'calc/feature.py': 'def div(a, b):\n    return a / b\n' },
      { branch: 'feature', date: '2030-01-02T00:00:00Z', message: 'Division' },
    );
    git.git('history', 'tag', 'v1.0', shas.root);
    git.git('history', '-c', 'user.name=T', '-c', 'user.email=t@example.com', 'tag', '-a', 'v2.0', '-m', 'Release 2', shas.third);
    app = await startTestApp(kind, { env: { KODAH_INDEX_THREADS: '2' } });
    ({ key } = await app.account());
    const created = await api('POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url('history') } },
    });
    conforms('POST', '/api/v1/repositories', 'request', {
      data: { type: 'repository', attributes: { remote_uri: git.url('history') } },
    });
    expect(created.status).toBe(201);
    conforms('POST', '/api/v1/repositories', 201, created.body);
    repoId = created.body.data.id;
    await waitForIndex(app, key, repoId, shas.third!);
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await git?.close();
  });

  it('repositories: the list, one, and its details', async () => {
    const list = await api('GET', '/api/v1/repositories');
    conforms('GET', '/api/v1/repositories', 200, list.body);
    const one = await api('GET', `/api/v1/repositories/${repoId}`);
    conforms('GET', '/api/v1/repositories/{repo_id}', 200, one.body);
    expect(one.body.data.attributes.total_branches).toBe(2);
  });

  it('commits: newest first in the history’s order, the root’s parent a string, each one readable', async () => {
    const list = await api('GET', `/api/v1/repositories/${repoId}/commits`);
    conforms('GET', '/api/v1/repositories/{repo_id}/commits', 200, list.body);
    const order = list.body.data.map((c: any) => c.id);
    // The feature branch's commit is newest; the third before the second although both have one date.
    expect(order).toEqual([shas.feature, shas.third, shas.second, shas.root]);
    const root = await api('GET', `/api/v1/repositories/${repoId}/commits/${shas.root}`);
    conforms('GET', '/api/v1/repositories/{repo_id}/commits/{commit_sha}', 200, root.body);
    expect(root.body.data.attributes.parent_commit_sha).toBe('');
    const third = await api('GET', `/api/v1/repositories/${repoId}/commits/${shas.third}`);
    expect(third.body.data.attributes.parent_commit_sha).toBe(shas.second);
  });

  it('files: of every commit the list offers, not only the indexed head, each readable with its content', async () => {
    const expected: Record<string, string[]> = {
      root: ['README.md', 'calc/core.py'],
      second: ['README.md', 'calc/core.py'],
      third: ['README.md', 'calc/core.py', 'calc/extra.py'],
      feature: ['README.md', 'calc/core.py', 'calc/feature.py'],
    };
    for (const [name, paths] of Object.entries(expected)) {
      const files = await api('GET', `/api/v1/repositories/${repoId}/commits/${shas[name]}/files`);
      expect(files.status, name).toBe(200);
      conforms('GET', '/api/v1/repositories/{repo_id}/commits/{commit_sha}/files', 200, files.body);
      expect(files.body.data.map((f: any) => f.attributes.path)).toEqual(paths);
      const core = files.body.data.find((f: any) => f.attributes.path === 'calc/core.py');
      const file = await api('GET', `/api/v1/repositories/${repoId}/commits/${shas[name]}/files/${core.attributes.blob_sha}`);
      expect(file.status, name).toBe(200);
      conforms('GET', '/api/v1/repositories/{repo_id}/commits/{commit_sha}/files/{blob_sha}', 200, file.body);
      expect(file.body.data.attributes.content).toContain('def add(a, b):');
      expect(file.body.data.attributes.size).toBe(Buffer.byteLength(file.body.data.attributes.content));
    }
    // A blob of another commit is not a file of this one.
    const rootFiles = await api('GET', `/api/v1/repositories/${repoId}/commits/${shas.root}/files`);
    const featureFiles = await api('GET', `/api/v1/repositories/${repoId}/commits/${shas.feature}/files`);
    const onlyFeature = featureFiles.body.data.find((f: any) => f.attributes.path === 'calc/feature.py');
    expect(rootFiles.body.data.some((f: any) => f.id === onlyFeature.id)).toBe(false);
    const wrong = await api('GET', `/api/v1/repositories/${repoId}/commits/${shas.root}/files/${onlyFeature.id}`);
    expect(wrong.status).toBe(404);
  });

  it('tags: annotated and lightweight, each pointing at its commit', async () => {
    const list = await api('GET', `/api/v1/repositories/${repoId}/tags`);
    conforms('GET', '/api/v1/repositories/{repo_id}/tags', 200, list.body);
    expect(Object.fromEntries(list.body.data.map((t: any) => [t.id, t.attributes.target_commit_sha]))).toEqual({
      'v1.0': shas.root,
      'v2.0': shas.third,
    });
    const one = await api('GET', `/api/v1/repositories/${repoId}/tags/v2.0`);
    conforms('GET', '/api/v1/repositories/{repo_id}/tags/{tag_id}', 200, one.body);
  });

  it('indexes and the queue', async () => {
    const list = await api('GET', '/api/v1/indexes');
    conforms('GET', '/api/v1/indexes', 200, list.body);
    const one = await api('GET', `/api/v1/indexes/${repoId}`);
    conforms('GET', '/api/v1/indexes/{index_id}', 200, one.body);
    const status = await api('GET', `/api/v1/indexes/${repoId}/status`);
    conforms('GET', '/api/v1/indexes/{index_id}/status', 200, status.body);
    const request = { data: { type: 'index', attributes: { uri: git.url('history') } } };
    conforms('POST', '/api/v1/indexes', 'request', request);
    const started = await api('POST', '/api/v1/indexes', request);
    expect(started.status).toBe(202);
    conforms('POST', '/api/v1/indexes', 202, started.body);
    const queue = await api('GET', '/api/v1/queue');
    conforms('GET', '/api/v1/queue', 200, queue.body);
    const task = queue.body.data[0];
    if (task) {
      const one = await api('GET', `/api/v1/queue/${task.id}`);
      conforms('GET', '/api/v1/queue/{task_id}', 200, one.body);
    }
    await waitForIndex(app, key, repoId, shas.third!);
  });

  it('search: keywords, code and text with filters', async () => {
    const requests = [
      { keywords: ['sub'], limit: 5 },
      { code: 'def mul(a, b)', limit: 5, filters: { languages: ['python'], sources: [git.url('history')] } },
      { text: 'multiply two numbers', limit: 5, filters: { file_patterns: ['calc/*.py'] } },
    ];
    for (const attributes of requests) {
      const body = { data: { type: 'search', attributes } };
      conforms('POST', '/api/v1/search', 'request', body);
      const found = await api('POST', '/api/v1/search', body);
      expect(found.status).toBe(200);
      conforms('POST', '/api/v1/search', 200, found.body);
    }
  });

  it('checked every JSON answer of Kodit’s API in the tests above', () => {
    const json = Object.entries(SPEC.paths).flatMap(([route, methods]) =>
      Object.entries(methods)
        .filter(([, op]) =>
          Object.entries(op.responses).some(([code, r]) => code.startsWith('2') && r.content?.['application/json']?.schema?.$ref),
        )
        .map(([method]) => `${method.toUpperCase()} ${route}`),
    );
    expect(json.filter((endpoint) => !validated.has(endpoint))).toEqual([]);
  });
});
