import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelIndexTasks } from '../src/code-index/index-queue.js';
import { syncDueRepositories, type SyncDeps } from '../src/code-index/sync-repositories.js';
import { RepositoryProbe } from '../src/git/repository-probe.js';
import { createLogger } from '../src/lib/logger.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { databaseKinds } from './helpers/test-database.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { waitForIndex } from './helpers/wait-for-index.js';

const FILES = { 'calc.py': 'def add(a, b):\n    return a + b\n' };

describe.each(databaseKinds)('index sync on %s', (kind) => {
  let git: GitHttpServer;

  beforeAll(async () => {
    git = await startGitHttpServer();
  });
  afterAll(async () => {
    await git?.close();
  });

  async function addRepository(app: TestApp, key: string, name: string): Promise<string> {
    const created = await app.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url(name) } },
    });
    expect(created.status).toBe(201);
    return created.body.data.id;
  }

  it('follows the remote on its own: a commit pushed after the index is indexed within the interval', async () => {
    const app = await startTestApp(kind, { env: { KODAH_INDEX_SYNC_INTERVAL_S: '1' } });
    try {
      const { key } = await app.account();
      const first = git.createRepo('followed', FILES);
      const id = await addRepository(app, key, 'followed');
      await waitForIndex(app, key, id, first);
      const second = git.commit('followed', { 'calc.py': `${FILES['calc.py']}\n\ndef sub(a, b):\n    return a - b\n` });
      await waitForIndex(app, key, id, second);
      const found = await app.api(key, 'POST', '/api/v1/search', { data: { type: 'search', attributes: { keywords: ['sub'] } } });
      expect(found.body.data.map((s: any) => s.attributes.name)).toContain('sub');
    } finally {
      await app.stop();
    }
  });

  describe('one round, step by step (no workers: nothing runs what a round queues)', () => {
    let app: TestApp;
    let deps: SyncDeps;
    let key: string;

    beforeAll(async () => {
      app = await startTestApp(kind, { workers: false, env: { KODAH_INDEX_SYNC_INTERVAL_S: '0' } });
      ({ key } = await app.account());
      deps = {
        db: app.kodah.db,
        boss: app.kodah.boss,
        probe: new RepositoryProbe({
          policy: { allowedHosts: [], allowLocal: true },
          credentials: { tokenFor: async () => null },
          timeoutMs: 10_000,
          ttlMs: 0,
        }),
        log: createLogger('silent'),
        intervalS: 1800,
      };
    });
    afterAll(() => app?.stop());

    /** Marks the repository as last checked long ago, and what its last run mapped as `heads`. */
    async function due(id: string, heads: Record<string, string>, tags: Record<string, string> = {}) {
      const { db } = app.kodah;
      await db.query(`UPDATE code_repositories SET synced_at = now() - interval '1 day' WHERE id = $1`, [id]);
      await db.query('DELETE FROM code_branches WHERE repository_id = $1', [id]);
      await db.query('DELETE FROM code_tags WHERE repository_id = $1', [id]);
      for (const [name, sha] of Object.entries(heads))
        await db.query('INSERT INTO code_branches (repository_id, name, head_sha, is_default, commit_count) VALUES ($1, $2, $3, true, 1)', [
          id,
          name,
          sha,
        ]);
      for (const [name, sha] of Object.entries(tags))
        await db.query('INSERT INTO code_tags (repository_id, name, target_sha) VALUES ($1, $2, $3)', [id, name, sha]);
    }
    /** Cancels the runs queued so far (creating a repository queues one). */
    async function clearQueue(...ids: string[]) {
      for (const id of ids) await cancelIndexTasks(app.kodah.boss, id);
    }
    const queuedRuns = async (id: string) =>
      (await app.kodah.boss.findJobs('kodah-index', { key: id })).filter((j) => j.state === 'created').length;

    it('queues a run only when a branch or tag moved, checks each repository once per interval, and skips one already queued', async () => {
      const head = git.createRepo('stepwise', FILES);
      git.git('stepwise', 'tag', 'v1', head);
      const id = await addRepository(app, key, 'stepwise');
      await clearQueue(id);

      // As mapped: nothing to do.
      await due(id, { main: head }, { v1: head });
      expect(await syncDueRepositories(deps)).toEqual({ checked: 1, queued: 0 });
      // Checked just now: not due again within the interval, whatever the remote does.
      const moved = git.commit('stepwise', { 'calc.py': 'def add(a, b):\n    return b + a\n' });
      expect(await syncDueRepositories(deps)).toEqual({ checked: 0, queued: 0 });
      expect(await queuedRuns(id)).toBe(0);

      // The branch moved: one run.
      await due(id, { main: head }, { v1: head });
      expect(await syncDueRepositories(deps)).toEqual({ checked: 1, queued: 1 });
      expect(await queuedRuns(id)).toBe(1);
      // A run is still waiting: the next round adds nothing.
      await due(id, { main: head }, { v1: head });
      expect(await syncDueRepositories(deps)).toEqual({ checked: 1, queued: 0 });
      expect(await queuedRuns(id)).toBe(1);
      await clearQueue(id);

      // A new tag alone is a move too.
      git.git('stepwise', 'tag', 'v2', moved);
      await due(id, { main: moved }, { v1: head });
      expect(await syncDueRepositories(deps)).toEqual({ checked: 1, queued: 1 });
      await clearQueue(id);
    });

    it('a remote that cannot be reached is left for the next interval, and the round goes on', async () => {
      git.createRepo('vanishing', FILES);
      git.createRepo('staying', FILES);
      const gone = await addRepository(app, key, 'vanishing');
      const staying = await addRepository(app, key, 'staying');
      await clearQueue(gone, staying);
      git.removeRepo('vanishing');
      git.commit('staying', { 'calc.py': 'def add(a, b):\n    return 0\n' });
      await due(gone, { main: '0'.repeat(40) });
      await due(staying, { main: '0'.repeat(40) });
      const round = await syncDueRepositories(deps);
      expect(round).toMatchObject({ queued: 1 });
      expect(round.checked).toBeGreaterThanOrEqual(2);
      expect(await queuedRuns(staying)).toBe(1);
      expect(await queuedRuns(gone)).toBe(0);
    });
  });
});
