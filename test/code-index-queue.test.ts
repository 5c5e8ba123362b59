import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { databaseKinds } from './helpers/test-database.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// No workers: index runs stay queued, so the queue endpoints have something to show.
describe.each(databaseKinds)('index task queue on %s', (kind) => {
  let git: GitHttpServer;
  let app: TestApp;
  // Each test has accounts of its own: what one account has indexed, another never sees.
  let key: string;
  let other: string;

  beforeAll(async () => {
    git = await startGitHttpServer();
    git.createRepo('shop', { 'a.py': 'x = 1\n' });
    git.createRepo('blog', { 'b.py': 'y = 2\n' });
    git.createRepo('third', { 'c.py': 'z = 3\n' });
    app = await startTestApp(kind, { workers: false, env: { KODAH_INDEX_MAX_REPOSITORIES: '2' } });
  }, 60_000);
  beforeEach(async () => {
    ({ key } = await app.account());
    ({ key: other } = await app.account());
  });
  afterAll(async () => {
    await app?.stop();
    await git?.close();
  });

  it('lists pending index runs with type, priority and payload, one per repository however often asked', async () => {
    const shop = await app.api(key, 'POST', '/api/v1/indexes', { data: { attributes: { uri: git.url('shop') } } });
    await app.api(key, 'POST', '/api/v1/indexes', { data: { attributes: { uri: git.url('shop') } } });
    await app.api(key, 'POST', '/api/v1/repositories', { data: { type: 'repository', attributes: { remote_uri: git.url('shop') } } });
    const blog = await app.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url('blog') } },
    });
    expect([shop.status, blog.status]).toEqual([202, 201]);

    const queue = await app.api(key, 'GET', '/api/v1/queue');
    expect(queue.status).toBe(200);
    expect(queue.body.data.map((t: any) => t.attributes.payload.repositoryId).sort()).toEqual(
      [shop.body.data.id, blog.body.data.id].sort(),
    );
    const task = queue.body.data.find((t: any) => t.attributes.payload.repositoryId === shop.body.data.id);
    expect(task).toMatchObject({
      type: 'task',
      id: expect.any(String),
      attributes: {
        type: 'repository.index',
        priority: 0,
        state: 'created',
        payload: { remoteUri: expect.stringContaining('/shop/') },
        created_at: expect.any(String),
      },
    });
    expect((await app.api(key, 'GET', `/api/v1/queue/${task.id}`)).body.data).toEqual(task);
    expect((await app.api(key, 'GET', '/api/v1/queue?task_type=repository.index')).body.data).toHaveLength(2);
    expect((await app.api(key, 'GET', '/api/v1/queue?task_type=repository.delete')).body.data).toEqual([]);

    // Another account sees none of them; deleting a repository cancels its runs.
    expect((await app.api(other, 'GET', '/api/v1/queue')).body.data).toEqual([]);
    expect((await app.api(other, 'GET', `/api/v1/queue/${task.id}`)).status).toBe(404);
    expect((await app.api(key, 'DELETE', `/api/v1/indexes/${shop.body.data.id}`)).status).toBe(204);
    expect((await app.api(key, 'GET', '/api/v1/queue')).body.data.map((t: any) => t.attributes.payload.repositoryId)).toEqual([
      blog.body.data.id,
    ]);
  });

  it('shows a repository whose run has not started as pending in every step', async () => {
    const created = await app.api(key, 'POST', '/api/v1/indexes', { data: { attributes: { uri: git.url('blog') } } });
    expect(created.status).toBe(202);
    const list = await app.api(key, 'GET', '/api/v1/indexes');
    expect(list.body.data.map((r: any) => r.id)).toEqual([created.body.data.id]);
    const status = await app.api(key, 'GET', `/api/v1/indexes/${created.body.data.id}/status`);
    expect(status.status).toBe(200);
    expect(status.body.data).toEqual([]);
  });

  it('holds an account to its number of repositories, and asking again for one it has still works', async () => {
    expect((await app.api(key, 'POST', '/api/v1/indexes', { data: { attributes: { uri: git.url('blog') } } })).status).toBe(202);
    expect(
      (await app.api(key, 'POST', '/api/v1/repositories', { data: { type: 'repository', attributes: { remote_uri: git.url('shop') } } }))
        .status,
    ).toBe(201);
    const third = await app.api(key, 'POST', '/api/v1/indexes', { data: { attributes: { uri: git.url('third') } } });
    expect(third.status).toBe(422);
    expect(third.body.detail).toMatch(/uri: this account already has 2 repositories, the limit; delete one first/);
    expect((await app.api(key, 'POST', '/api/v1/indexes', { data: { attributes: { uri: git.url('blog') } } })).status).toBe(202);
    expect((await app.api(key, 'GET', '/api/v1/repositories')).body.data).toHaveLength(2);
    // Another account has its own allowance.
    expect((await app.api(other, 'POST', '/api/v1/indexes', { data: { attributes: { uri: git.url('third') } } })).status).toBe(202);
  });
});
