import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { databaseKinds } from './helpers/test-database.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { waitForFailedStep, waitForIndex } from './helpers/wait-for-index.js';

const FIRST: Record<string, string> = {
  'shop/processor.py':
    'class Cart:\n    def add_item(self, item):\n        self.items.append(item)\n\ndef calculate_total(items):\n    total = 0\n    for item in items:\n        total += item["price"]\n    return total\n',
  'web/checkout.ts': 'export function renderCheckout(total: number): string {\n  return `Total: ${total}`;\n}\n',
  'README.md': '# Shop\n\nA tiny shop used to test the code index.\n',
  'logo.png': '\u0089PNG\r\n\u001a\n\u0000\u0000binary',
};

const SECOND: Record<string, string> = {
  'shop/discounts.py': 'def apply_discount(total, percent):\n    return total * (1 - percent / 100)\n',
  'web/checkout.ts':
    'export function renderCheckout(total: number, currency: string): string {\n  return `Total: ${total} ${currency}`;\n}\n',
};
const SECOND_COMMIT = { author: 'Alice Example <alice@example.com>', date: '2030-01-02T03:04:05Z', message: 'Discounts and currencies' };
const ENV = { KODAH_INDEX_MAX_FILES: '20', KODAH_INDEX_THREADS: '2' };

/**
 * Every test has its own account and git repository. Tests that read an index share one built
 * before them (`atFirst`: the first commit; `atSecond`: both); tests that count what the whole
 * database holds (blobs seen before, rows left after a delete) get a server and database of their own.
 */
describe.each(databaseKinds)('code index API on %s', (kind) => {
  let git: GitHttpServer;
  let app: TestApp;
  let other: string;
  let atFirst: { key: string; repoId: string; first: string; remote: string };
  let atSecond: { key: string; repoId: string; first: string; second: string; remote: string };

  const search = (as: string, attributes: object) => app.api(as, 'POST', '/api/v1/search', { data: { type: 'search', attributes } });
  const paths = (response: any) => response.body.data.map((s: any) => s.attributes.relative_path);

  /** A new git repository `name` at FIRST, tagged v1.0.0 and nightly; resolves to its commit. */
  function shopRepo(name: string): string {
    const first = git.createRepo(name, FIRST);
    git.git(name, 'tag', 'v1.0.0', first);
    git.git(name, 'tag', 'nightly', first);
    return first;
  }

  /** Adds `name` for the account and waits until `commit` is searchable; resolves to its id. */
  async function addRepository(target: TestApp, key: string, name: string, commit: string): Promise<string> {
    const created = await target.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url(name) } },
    });
    expect(created.status).toBe(201);
    await waitForIndex(target, key, created.body.data.id, commit);
    return created.body.data.id;
  }

  /** Commits SECOND to `name` and waits until the repository `id` is indexed at it. */
  async function indexSecond(
    target: TestApp,
    key: string,
    name: string,
    id: string,
  ): Promise<{ second: string; response: any; steps: any[] }> {
    const second = git.commit(name, SECOND, SECOND_COMMIT);
    const response = await target.api(key, 'POST', '/api/v1/indexes', { data: { type: 'index', attributes: { uri: git.url(name) } } });
    return { second, response, steps: await waitForIndex(target, key, id, second) };
  }

  /** A server and database for this test alone, stopped when it ends. */
  async function ownApp(): Promise<TestApp> {
    const own = await startTestApp(kind, { env: ENV });
    onTestFinished(() => own.stop());
    return own;
  }

  beforeAll(async () => {
    git = await startGitHttpServer();
    git.createRepo('big', Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}.txt`, `file ${i}\n`])));
    app = await startTestApp(kind, { env: ENV });
    ({ key: other } = await app.account());

    // Both at once: most of an index run is waiting on the queue.
    [atFirst, atSecond] = await Promise.all([
      (async () => {
        const { key } = await app.account();
        const first = shopRepo('shop-a');
        const repoId = await addRepository(app, key, 'shop-a', first);
        return { key, repoId, first, remote: git.url('shop-a') };
      })(),
      (async () => {
        const { key } = await app.account();
        const first = shopRepo('shop-b');
        const repoId = await addRepository(app, key, 'shop-b', first);
        const { second } = await indexSecond(app, key, 'shop-b', repoId);
        return { key, repoId, first, second, remote: git.url('shop-b') };
      })(),
    ]);
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
    await git?.close();
  });

  it('creates a repository, clones and maps it in the background, and shows each step', async () => {
    // Its own database: the first index of these files finds every blob new.
    const app = await ownApp();
    const { key } = await app.account();
    const { key: other } = await app.account();
    const first = shopRepo('shop-1');
    const created = await app.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url('shop-1') } },
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ type: 'repository', attributes: { remote_uri: git.url('shop-1').replace(/\/$/, '') } });
    const repoId = created.body.data.id;

    const steps = await waitForIndex(app, key, repoId, first);
    expect(steps.map((s: any) => [s.attributes.step, s.attributes.state, s.attributes.progress])).toEqual([
      ['clone', 'completed', 100],
      ['map', 'completed', 100],
      ['scan', 'completed', 100],
      ['extract_snippets', 'completed', 100],
      // No summary model in this suite (test/code-index-summaries.test.ts has one).
      ['summarize', 'skipped', 100],
      ['build_search_index', 'completed', 100],
    ]);
    expect(steps[3].attributes).toMatchObject({ current: 4, total: 4 });

    const details = await app.api(key, 'GET', `/api/v1/repositories/${repoId}`);
    expect(details.status).toBe(200);
    expect(details.body.branches).toEqual([{ name: 'main', is_default: true, commit_count: 1 }]);
    expect(details.body.recent_commits).toEqual([expect.objectContaining({ sha: first, message: 'initial', author: 'Test' })]);
    expect(details.body.data.attributes).toMatchObject({ default_branch: 'main', total_commits: 1, total_branches: 1 });

    const list = await app.api(key, 'GET', '/api/v1/repositories');
    expect(list.body.data.map((r: any) => r.id)).toEqual([repoId]);
    expect((await app.api(other, 'GET', '/api/v1/repositories')).body.data).toEqual([]);
    expect((await app.api(other, 'GET', `/api/v1/repositories/${repoId}`)).status).toBe(404);
  });

  it('serves commits, files with content, and tags with version detection', async () => {
    const { key, repoId, first } = atFirst;
    const commits = await app.api(key, 'GET', `/api/v1/repositories/${repoId}/commits`);
    expect(commits.body.data).toEqual([
      {
        type: 'commit',
        id: first,
        attributes: { commit_sha: first, date: expect.any(String), message: 'initial', parent_commit_sha: '', author: 'Test' },
      },
    ]);
    expect((await app.api(key, 'GET', `/api/v1/repositories/${repoId}/commits/${first.slice(0, 10)}`)).body.data.id).toBe(first);

    const files = await app.api(key, 'GET', `/api/v1/repositories/${repoId}/commits/${first}/files`);
    const byPath = Object.fromEntries(files.body.data.map((f: any) => [f.attributes.path, f.attributes]));
    expect(Object.keys(byPath).sort()).toEqual(['README.md', 'logo.png', 'shop/processor.py', 'web/checkout.ts']);
    expect(byPath['shop/processor.py']).toMatchObject({
      mime_type: 'text/x-python',
      extension: 'py',
      size: Buffer.byteLength(FIRST['shop/processor.py']!),
    });
    expect(byPath['logo.png'].mime_type).toBe('image/png');

    const one = await app.api(key, 'GET', `/api/v1/repositories/${repoId}/commits/${first}/files/${byPath['shop/processor.py'].blob_sha}`);
    expect(one.body.data.attributes).toMatchObject({ path: 'shop/processor.py', content: FIRST['shop/processor.py'] });

    const tags = await app.api(key, 'GET', `/api/v1/repositories/${repoId}/tags`);
    expect(tags.body.data.map((t: any) => [t.id, t.attributes.target_commit_sha, t.attributes.is_version_tag])).toEqual([
      ['nightly', first, false],
      ['v1.0.0', first, true],
    ]);
    expect((await app.api(key, 'GET', `/api/v1/repositories/${repoId}/tags/v1.0.0`)).body.data.attributes.name).toBe('v1.0.0');
  });

  it('indexes a second commit, processing only the blobs it has not seen', async () => {
    // Its own database: "not seen" counts the blobs of every repository indexed there.
    const app = await ownApp();
    const { key } = await app.account();
    const first = shopRepo('shop-3');
    const repoId = await addRepository(app, key, 'shop-3', first);
    const { second, response: again, steps } = await indexSecond(app, key, 'shop-3', repoId);
    expect(again.status).toBe(202);
    expect(again.body.data).toMatchObject({ type: 'index', id: repoId, attributes: { uri: expect.stringContaining('/shop-3/') } });

    const extract = steps.find((s: any) => s.attributes.step === 'extract_snippets');
    // Two new blobs (discounts.py and the new checkout.ts); the other three were seen at the first commit.
    expect(extract.attributes).toMatchObject({ current: 2, total: 2, message: expect.stringMatching(/^2 new blobs/) });
    const details = await app.api(key, 'GET', `/api/v1/repositories/${repoId}`);
    expect(details.body.branches[0].commit_count).toBe(2);
    expect(details.body.recent_commits[0]).toMatchObject({ sha: second, author: 'Alice Example' });
    expect((await app.api(key, 'GET', `/api/v1/repositories/${repoId}/commits/${second}/files`)).body.data).toHaveLength(5);
    // The first commit's files stay listed.
    expect((await app.api(key, 'GET', `/api/v1/repositories/${repoId}/commits/${first}/files`)).body.data).toHaveLength(4);
  });

  it('searches by keywords, code and text, ranking with BM25 over code-aware tokens', async () => {
    const { key, second } = atSecond;
    const hits = await search(key, { keywords: ['calculate total'], limit: 5 });
    expect(hits.status).toBe(200);
    expect(hits.body.data[0]).toMatchObject({
      type: 'snippet',
      attributes: {
        relative_path: 'shop/processor.py',
        language: 'python',
        name: 'calculate_total',
        content: expect.stringMatching(/^def calculate_total\(items\):/),
        original_scores: [expect.any(Number)],
        source_uri: atSecond.remote,
        authors: ['Test'],
        commit_sha: second,
      },
    });
    expect((await search(key, { code: 'renderCheckout(total, currency)' })).body.data[0].attributes.name).toBe('renderCheckout');
    expect((await search(key, { text: 'apply a discount percent' })).body.data[0].attributes.name).toBe('apply_discount');
    // camelCase is split: "render checkout" finds renderCheckout.
    expect(paths(await search(key, { keywords: ['render', 'checkout'] }))[0]).toBe('web/checkout.ts');
    // Another account sees none of it.
    expect((await search(other, { keywords: ['calculate_total'] })).body.data).toEqual([]);
  });

  it('applies every filter of the contract', async () => {
    const { key, repoId, remote } = atSecond;
    const search = (attributes: object) => app.api(key, 'POST', '/api/v1/search', { data: { type: 'search', attributes } });
    const all = { keywords: ['total'], limit: 20 };
    expect(new Set(paths(await search(all)))).toEqual(new Set(['shop/processor.py', 'shop/discounts.py', 'web/checkout.ts']));
    expect(new Set(paths(await search({ ...all, filters: { languages: ['python'] } })))).toEqual(
      new Set(['shop/processor.py', 'shop/discounts.py']),
    );
    expect(paths(await search({ ...all, filters: { languages: ['ts'] } }))).toEqual(['web/checkout.ts']);
    expect(new Set(paths(await search({ ...all, filters: { authors: ['alice example'] } })))).toEqual(
      new Set(['shop/discounts.py', 'web/checkout.ts']),
    );
    expect(new Set(paths(await search({ ...all, filters: { start_date: '2029-12-31' } })))).toEqual(
      new Set(['shop/discounts.py', 'web/checkout.ts']),
    );
    // Files that existed by the end date, whatever changed later.
    expect(new Set(paths(await search({ ...all, filters: { end_date: '2029-12-31T00:00:00Z' } })))).toEqual(
      new Set(['shop/processor.py', 'web/checkout.ts']),
    );
    expect(new Set(paths(await search({ ...all, filters: { file_patterns: ['shop/**'] } })))).toEqual(
      new Set(['shop/processor.py', 'shop/discounts.py']),
    );
    expect(paths(await search({ ...all, filters: { file_patterns: ['*.ts'] } }))).toEqual(['web/checkout.ts']);
    expect(paths(await search({ ...all, filters: { sources: [remote.replace(/\.git$/, '')] } })).length).toBeGreaterThan(0);
    expect(paths(await search({ ...all, filters: { sources: [repoId] } })).length).toBeGreaterThan(0);
    expect(paths(await search({ ...all, filters: { sources: ['https://github.com/someone/else'] } }))).toEqual([]);
    expect((await search({ ...all, limit: 1 })).body.data).toHaveLength(1);
  });

  it('refuses bad input with the status the contract gives and a detail that says why', async () => {
    const { key, repoId, first, remote } = atFirst;
    const bad = async (method: string, path: string, body: unknown, status: number, detail: RegExp) => {
      const response = await app.api(key, method, path, body);
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(response.body.detail).toMatch(detail);
    };
    await bad('GET', '/api/v1/repositories/999999', undefined, 404, /Repository 999999 not found/);
    await bad('GET', '/api/v1/repositories/abc', undefined, 404, /not found/);
    await bad('GET', `/api/v1/repositories/${repoId}/commits/deadbeef`, undefined, 404, /Commit deadbeef not found/);
    await bad('GET', `/api/v1/repositories/${repoId}/commits/${first}/files/0000000`, undefined, 404, /File 0000000 not found/);
    await bad('GET', `/api/v1/repositories/${repoId}/tags/v9`, undefined, 404, /Tag v9 not found/);
    await bad('GET', '/api/v1/indexes/424242', undefined, 404, /Index 424242 not found/);
    await bad('GET', '/api/v1/indexes/424242/status', undefined, 404, /Index 424242 not found/);
    await bad('GET', '/api/v1/queue/nope', undefined, 404, /Task nope not found/);
    await bad('POST', '/api/v1/repositories', { remote_uri: remote }, 422, /data/);
    await bad('POST', '/api/v1/repositories', '{"data":', 422, /JSON/);
    await bad(
      'POST',
      '/api/v1/repositories',
      { data: { type: 'repository', attributes: { remote_uri: 'ftp://example.com/a/b' } } },
      422,
      /remote_uri: must use https/,
    );
    await bad(
      'POST',
      '/api/v1/repositories',
      { data: { type: 'repository', attributes: { remote_uri: 'https://93.184.216.34/a/b' } } },
      422,
      /remote_uri: host 93.184.216.34 is not allowed/,
    );
    await bad(
      'POST',
      '/api/v1/repositories',
      { data: { type: 'repository', attributes: { remote_uri: git.url('missing') } } },
      422,
      /remote_uri: no repository/,
    );
    // A host that refuses the connection is not the caller's mistake: a 503 to retry, naming the host.
    await bad(
      'POST',
      '/api/v1/indexes',
      { data: { attributes: { uri: 'http://127.0.0.1:1/a/b' } } },
      503,
      /^Could not reach the repository host 127\.0\.0\.1: git said: /,
    );
    await bad(
      'POST',
      '/api/v1/search',
      { data: { attributes: { keywords: ['x'], filters: { file_patterns: ['src/[abc'] } } } },
      422,
      /file_patterns: "src\/\[abc" is not a valid glob/,
    );
    await bad('POST', '/api/v1/search', { data: { attributes: { limit: 5 } } }, 422, /keywords, code or text/);
    await bad(
      'POST',
      '/api/v1/search',
      { data: { attributes: { keywords: ['x'], filters: { start_date: 'yesterday' } } } },
      422,
      /start_date/,
    );
    await bad('POST', '/api/v1/search', { data: { attributes: { keywords: ['x'], limit: 0 } } }, 422, /limit/);
    expect((await app.api(null, 'GET', '/api/v1/repositories')).status).toBe(401);
    expect((await app.api(null, 'POST', '/api/v1/search', { data: { attributes: { keywords: ['x'] } } })).status).toBe(401);
    // None of it left a repository behind.
    expect((await app.api(key, 'GET', '/api/v1/repositories')).body.data).toHaveLength(1);
  });

  it('maps a commit whatever time zone it claims (git keeps "+51800" as written)', async () => {
    const { key } = await app.account();
    const base = git.createRepo('odd', { 'a.py': 'def odd():\n    return 1\n' });
    const tree = git.git('odd', 'rev-parse', `${base}^{tree}`);
    const object = `tree ${tree}\nparent ${base}\nauthor Odd <odd@example.com> 1315447130 +51800\ncommitter Odd <odd@example.com> 1315447130 +51800\n\nodd zone\n`;
    const odd = execFileSync('git', ['--git-dir', git.path('odd'), 'hash-object', '-t', 'commit', '-w', '--literally', '--stdin'], {
      input: object,
      encoding: 'utf8',
    }).trim();
    git.git('odd', 'update-ref', 'refs/heads/main', odd);
    const created = await app.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url('odd') } },
    });
    await waitForIndex(app, key, created.body.data.id, odd);
    const commit = await app.api(key, 'GET', `/api/v1/repositories/${created.body.data.id}/commits/${odd}`);
    expect(commit.body.data.attributes).toMatchObject({ date: '2011-09-08T01:58:50.000Z', message: 'odd zone', parent_commit_sha: base });
    // As the Kodit client sends it: a JSON Content-Type on a request with no body.
    const deleted = await fetch(`${app.url}/api/v1/repositories/${created.body.data.id}`, {
      method: 'DELETE',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
    });
    expect(deleted.status).toBe(204);
  });

  it('lists what .gitignore and .noindex exclude, but never cuts or searches it', async () => {
    const { key } = await app.account();
    git.createRepo('ignoring', {
      'app/core.py': 'def kept_function():\n    return 1\n',
      'generated/parser.py': 'def generated_function():\n    return 2\n',
      'web/bundle.min.js': 'function minifiedFunction() { return 3; }\n',
      'vendor/lib.py': 'def vendored_function():\n    return 4\n',
      'vendor/keep.py': 'def unvendored_function():\n    return 5\n',
    });
    // The rules come after the files, which git therefore keeps tracking (as with `add -f`).
    const head = git.commit('ignoring', { '.gitignore': 'generated/\n*.min.js\n', 'vendor/.noindex': '*.py\n!keep.py\n' });
    const created = await app.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url('ignoring') } },
    });
    const steps = await waitForIndex(app, key, created.body.data.id, head);
    expect(steps.find((s: any) => s.attributes.step === 'scan').attributes.message).toBe('7 files, 3 excluded by .gitignore or .noindex');
    const files = await app.api(key, 'GET', `/api/v1/repositories/${created.body.data.id}/commits/${head}/files`);
    expect(files.body.data.map((f: any) => f.attributes.path)).toContain('generated/parser.py');
    // Every function holds the word: only the files left to index answer.
    const found = await search(key, { keywords: ['function', 'minified'], limit: 50, filters: { sources: [git.url('ignoring')] } });
    expect([...new Set(paths(found))].sort()).toEqual(['app/core.py', 'vendor/keep.py']);
  });

  it('fails a repository over the file limit cleanly, with the reason in its status', async () => {
    const { key } = await app.account();
    const created = await app.api(key, 'POST', '/api/v1/indexes', { data: { attributes: { uri: git.url('big') } } });
    expect(created.status).toBe(202);
    const failed = await waitForFailedStep(app, key, created.body.data.id);
    expect(failed.attributes).toMatchObject({
      step: 'scan',
      state: 'failed',
      error: expect.stringMatching(/30 files .* more than the limit of 20/),
    });
    const status = await app.api(key, 'GET', `/api/v1/indexes/${created.body.data.id}/status`);
    expect(status.body.data.filter((s: any) => s.attributes.state === 'skipped').map((s: any) => s.attributes.step)).toEqual([
      'extract_snippets',
      'summarize',
      'build_search_index',
    ]);
    const rows = await app.kodah.db.query<{ n: number }>('SELECT count(*)::int AS n FROM code_files WHERE repository_id = $1', [
      created.body.data.id,
    ]);
    expect(rows.rows[0]!.n).toBe(0);
    expect((await app.api(key, 'DELETE', `/api/v1/indexes/${created.body.data.id}`)).status).toBe(204);
  });

  it('deletes a repository with its mirror, rows and snippets', async () => {
    // Its own database: after the delete it must hold no code at all.
    const app = await ownApp();
    const { key } = await app.account();
    const repoId = await addRepository(app, key, 'shop-9', shopRepo('shop-9'));
    await indexSecond(app, key, 'shop-9', repoId);
    const mirror = (await app.kodah.db.query<{ cloned_path: string }>('SELECT cloned_path FROM code_repositories WHERE id = $1', [repoId]))
      .rows[0]!.cloned_path;
    expect(existsSync(mirror)).toBe(true);
    expect((await app.api(key, 'DELETE', `/api/v1/repositories/${repoId}`)).status).toBe(204);
    expect(existsSync(mirror)).toBe(false);
    expect((await app.api(key, 'GET', `/api/v1/repositories/${repoId}`)).status).toBe(404);
    expect((await app.api(key, 'DELETE', `/api/v1/repositories/${repoId}`)).status).toBe(404);
    const counts = await app.kodah.db.query<{ files: number; blobs: number; snippets: number; commits: number }>(
      `SELECT (SELECT count(*)::int FROM code_files) AS files, (SELECT count(*)::int FROM code_blobs) AS blobs,
              (SELECT count(*)::int FROM code_snippets) AS snippets, (SELECT count(*)::int FROM code_commits) AS commits`,
    );
    expect(counts.rows[0]).toEqual({ files: 0, blobs: 0, snippets: 0, commits: 0 });
    expect(
      (await app.api(key, 'POST', '/api/v1/search', { data: { type: 'search', attributes: { keywords: ['calculate_total'] } } })).body.data,
    ).toEqual([]);
  });
});
