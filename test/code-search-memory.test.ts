import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeSearch, type SearchQuery } from '../src/code-index/code-search.js';
import { SearchSegment } from '../src/code-index/search-segment.js';
import { SEGMENT_FORMAT_VERSION } from '../src/code-index/segment-codec.js';
import { loadSegment } from '../src/code-index/segment-store.js';
import type { Database } from '../src/db/database.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { databaseKinds } from './helpers/test-database.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { waitForIndex } from './helpers/wait-for-index.js';

/** Three shops of about the same size that share words, so each one's statistics move the others' scores. */
function shop(name: string, extra: string): Record<string, string> {
  return {
    [`${name}/cart.py`]: `def calculate_total(items):\n    return sum(item.price for item in items)\n\ndef ${extra}_discount(total):\n    return total * 0.9\n`,
    [`${name}/orders.py`]: `class Order:\n    def total(self):\n        return calculate_total(self.items)\n\n    def ship(self, address):\n        return shipping_label(address)\n`,
    [`${name}/shipping.py`]: `def shipping_label(address):\n    return address.upper()\n\ndef ${extra}_rate(weight):\n    return weight * 2\n`,
  };
}

const QUERIES: SearchQuery[] = [
  { keywords: ['total'], limit: 10 },
  { keywords: ['calculate_total'], limit: 5 },
  { keywords: ['shipping', 'address'], limit: 10 },
  { code: 'return weight * 2', limit: 10 },
  { keywords: ['discount'], limit: 10, filters: { languages: ['python'] } },
  { text: 'price of the items', limit: 10 },
];

describe.each(databaseKinds)('search segments under a memory budget on %s', (kind) => {
  let git: GitHttpServer;
  let app: TestApp;
  let db: Database;
  let accountId: string;
  let key: string;
  const repos: Array<{ id: string; uri: string; commit: string }> = [];

  beforeAll(async () => {
    git = await startGitHttpServer();
    app = await startTestApp(kind);
    db = app.kodah.db;
    const account = await app.account();
    accountId = account.id;
    key = account.key;
    for (const [name, extra] of [
      ['north', 'bulk'],
      ['south', 'member'],
      ['east', 'holiday'],
    ] as const) {
      const commit = git.createRepo(name, shop(name, extra));
      const created = await app.api(account.key, 'POST', '/api/v1/repositories', {
        data: { type: 'repository', attributes: { remote_uri: git.url(name) } },
      });
      repos.push({ id: created.body.data.id, uri: git.url(name), commit });
      await waitForIndex(app, account.key, created.body.data.id, commit);
    }
    // Summaries as a summary model would have written them, so the summary postings are exercised too.
    await db.query("UPDATE code_snippets SET content_sha = md5(blob_sha || ':' || ordinal) WHERE content_sha IS NULL");
    await db.query(
      `INSERT INTO code_summaries (content_sha, model, summary)
       SELECT DISTINCT content_sha, 'summary-model', 'Computes the ' || name || ' from the price of the items'
         FROM code_snippets WHERE content_sha IS NOT NULL ON CONFLICT DO NOTHING`,
    );
  }, 90_000);
  afterAll(async () => {
    await app?.stop();
    await git?.close();
  });

  const answers = async (search: CodeSearch) => {
    const all = [];
    for (const query of QUERIES) {
      all.push(await search.search(accountId, query));
      // A filter to one repository: statistics still come from all three.
      all.push(await search.search(accountId, { ...query, filters: { ...query.filters, sources: [repos[1]!.uri] } }));
    }
    return all;
  };

  it('the index run stores each searchable commit in the compact form, and a stored segment equals one built from the rows', async () => {
    const stored = await db.query<{ repository_id: string; commit_sha: string; format_version: number }>(
      'SELECT repository_id::text, commit_sha, format_version FROM code_segments ORDER BY repository_id',
    );
    expect(stored.rows).toEqual(repos.map((r) => ({ repository_id: r.id, commit_sha: r.commit, format_version: SEGMENT_FORMAT_VERSION })));
    for (const r of repos) {
      for (const model of [null, 'summary-model']) {
        const built = await SearchSegment.build(db, r.id, r.commit, model);
        const loaded = await loadSegment(db, r.id, r.commit, model);
        expect(built.size).toBeGreaterThan(3);
        for (const part of ['files', 'snippetIds', 'fileOf', 'languages', 'lengths', 'code', 'summaryLengths', 'summary'] as const)
          expect(loaded[part], part).toEqual(built[part]);
        expect([loaded.totalLength, loaded.summaryTotalLength, loaded.byteSize()]).toEqual([
          built.totalLength,
          built.summaryTotalLength,
          built.byteSize(),
        ]);
        if (model) expect(built.summary.terms).toContain('price');
      }
    }
    // The summary model's form was missing: the first load built it from the rows and stored it.
    const forModel = await db.query("SELECT 1 FROM code_segments WHERE summary_model = 'summary-model'");
    expect(forModel.rows).toHaveLength(3);
  });

  it('a missing, older or damaged stored form is rebuilt from the rows and written again', async () => {
    const r = repos[0]!;
    const reference = await SearchSegment.build(db, r.id, r.commit, null);
    const cases = [
      'DELETE FROM code_segments WHERE repository_id = $1',
      'UPDATE code_segments SET format_version = 0, data = substring(data from 1 for 4) || $2 || substring(data from 9) WHERE repository_id = $1',
      'UPDATE code_segments SET data = substring(data from 1 for 40) WHERE repository_id = $1',
      "UPDATE code_segments SET data = '\\x00'::bytea WHERE repository_id = $1",
    ];
    for (const sql of cases) {
      await db.query(sql, sql.includes('$2') ? [r.id, Buffer.from([0, 0, 0, 0])] : [r.id]);
      const loaded = await loadSegment(db, r.id, r.commit, null);
      expect(loaded.code).toEqual(reference.code);
      expect(loaded.snippetIds).toEqual(reference.snippetIds);
      const row = await db.query<{ format_version: number; n: number }>(
        "SELECT format_version, octet_length(data) AS n FROM code_segments WHERE repository_id = $1 AND summary_model = ''",
        [r.id],
      );
      expect(row.rows[0]).toMatchObject({ format_version: SEGMENT_FORMAT_VERSION, n: expect.any(Number) });
      expect(row.rows[0]!.n).toBeGreaterThan(100);
    }
  });

  it('a budget that holds one segment answers exactly as an unbounded one, and evicts', async () => {
    for (const model of [null, 'summary-model']) {
      const unbounded = new CodeSearch(db, null, model);
      const expected = await answers(unbounded);
      expect(expected.some((hits) => new Set(hits.map((h) => h.repositoryId)).size === 3)).toBe(true);
      expect(expected.flat().length).toBeGreaterThan(20);
      const sizes = unbounded.held().segments.map((s) => s.bytes);
      expect(sizes).toHaveLength(3);
      expect(unbounded.heldBytes()).toBe(sizes.reduce((a, b) => a + b, 0));

      const budget = Math.max(...sizes) + 1;
      expect(budget).toBeLessThan(Math.min(...sizes) * 2);
      const small = new CodeSearch(db, null, model, budget);
      expect(await answers(small)).toEqual(expected);
      const held = small.held();
      expect(held.segments).toHaveLength(1);
      expect(held.segments[0]!.inUse).toBe(false);
      expect(small.heldBytes()).toBeLessThanOrEqual(budget);
      expect(held.evictions).toBeGreaterThan(0);
      expect(held.loads).toBeGreaterThan(3);

      // Nothing fits: every search loads, uses and lets go, with the same answers.
      const none = new CodeSearch(db, null, model, 1);
      expect(await answers(none)).toEqual(expected);
      expect(none.heldBytes()).toBe(0);
      expect(none.held().segments).toEqual([]);
    }
  });

  it('searches running at once share loads and never lose a segment in use', async () => {
    const expected = await answers(new CodeSearch(db, null));
    const sizes = new CodeSearch(db, null);
    await sizes.search(accountId, QUERIES[0]!);
    const small = new CodeSearch(db, null, null, Math.max(...sizes.held().segments.map((s) => s.bytes)) + 1);
    const concurrent = await Promise.all(Array.from({ length: 4 }, () => answers(small)));
    for (const result of concurrent) expect(result).toEqual(expected);
    expect(small.heldBytes()).toBeLessThanOrEqual(Math.max(...sizes.held().segments.map((s) => s.bytes)) + 1);
  });

  it('a new commit replaces the stored form, and a late reader of the old commit stores nothing', async () => {
    const r = repos[0]!;
    const old = r.commit;
    const next = git.commit('north', { 'north/refunds.py': 'def refund(order):\n    return -calculate_total(order.items)\n' });
    await app.api(key, 'POST', '/api/v1/indexes', { data: { attributes: { uri: r.uri } } });
    await waitForIndex(app, key, r.id, next);
    const stored = async () =>
      (await db.query<{ commit_sha: string }>('SELECT commit_sha FROM code_segments WHERE repository_id = $1', [r.id])).rows.map(
        (x) => x.commit_sha,
      );
    expect(await stored()).toEqual([next]);
    await loadSegment(db, r.id, old, null);
    expect(await stored()).toEqual([next]);
    const search = new CodeSearch(db, null);
    const hits = await search.search(accountId, { keywords: ['refund'], limit: 3 });
    expect(hits[0]).toMatchObject({ repositoryId: r.id, commit: next, path: 'north/refunds.py' });
  });
});
