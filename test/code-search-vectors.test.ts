import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeEmbeddings, type FakeEmbeddings } from './helpers/fake-embeddings.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { databaseKinds } from './helpers/test-database.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { waitForFailedStep, waitForIndex } from './helpers/wait-for-index.js';

const FILES = {
  'shop/processor.py': 'def calculate_total(items):\n    return sum(item["price"] for item in items)\n',
  'shop/shipping.py': 'def shipping_label(address):\n    return address.upper()\n',
};

describe.each(databaseKinds)('vector search fused with BM25 on %s', (kind) => {
  let git: GitHttpServer;
  let embeddings: FakeEmbeddings;
  let app: TestApp;
  let key: string;
  let id: string;

  // Each test its own git server, embeddings endpoint and database: what a test embeds, and an index
  // run it leaves failing (and retrying), must not show up in another's counts.
  beforeEach(async () => {
    git = await startGitHttpServer();
    embeddings = await startFakeEmbeddings();
    app = await startTestApp(kind, {
      env: { KODAH_EMBEDDINGS_BASE_URL: embeddings.baseUrl, KODAH_EMBEDDINGS_MODEL: 'fake-embed', KODAH_EMBEDDINGS_API_KEY: 'sk-test' },
    });
    ({ key } = await app.account());
    const first = git.createRepo('shop', FILES);
    const created = await app.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url('shop') } },
    });
    id = created.body.data.id;
    await waitForIndex(app, key, id, first);
  }, 60_000);
  afterEach(async () => {
    await app?.stop();
    await git?.close();
    await embeddings?.close();
  });

  const search = (attributes: object) => app.api(key, 'POST', '/api/v1/search', { data: { attributes } });

  it('embeds each snippet once, and a later commit only its new snippets', async () => {
    expect(embeddings.inputs).toHaveLength(2);
    expect(embeddings.inputs[0]).toMatch(/^shop\/processor\.py\ndef calculate_total/);
    const second = git.commit('shop', { 'shop/refunds.py': 'def refund(order):\n    return -order.total\n' });
    await app.api(key, 'POST', '/api/v1/indexes', { data: { attributes: { uri: git.url('shop') } } });
    await waitForIndex(app, key, id, second);
    expect(embeddings.inputs).toHaveLength(3);
    expect(embeddings.inputs[2]).toMatch(/^shop\/refunds\.py/);
  });

  it('finds by meaning what no keyword matches, and reports each ranking in original_scores', async () => {
    // "cost" appears nowhere in the code: only the vector ranking (cost ≈ price) can find it.
    const hits = await search({ text: 'cost', limit: 3 });
    expect(hits.status).toBe(200);
    expect(hits.body.data[0].attributes).toMatchObject({ name: 'calculate_total', original_scores: [0, expect.any(Number)] });
    expect(hits.body.data[0].attributes.original_scores[1]).toBeGreaterThan(0);

    // Both rankings agree on the label for "shipping label": fused first, both scores present.
    const both = await search({ keywords: ['shipping'], code: 'shipping_label(address)', limit: 3 });
    expect(both.body.data[0].attributes.name).toBe('shipping_label');
    expect(both.body.data[0].attributes.original_scores).toHaveLength(2);
    expect(both.body.data[0].attributes.original_scores.every((s: number) => s > 0)).toBe(true);
  });

  it('a failing embeddings endpoint fails the index run with a retry, not silently', async () => {
    embeddings.failWith = 500;
    git.commit('shop', { 'shop/tax.py': 'def tax(total):\n    return total * 0.2\n' });
    await app.api(key, 'POST', '/api/v1/indexes', { data: { attributes: { uri: git.url('shop') } } });
    const step = await waitForFailedStep(app, key, id);
    expect(step.attributes).toMatchObject({
      step: 'build_search_index',
      error: expect.stringMatching(/Embeddings endpoint failed.*will retry/),
    });
    embeddings.failWith = null;
  });
});
