import { afterEach, describe, expect, it } from 'vitest';
import { SnippetPool } from './snippet-pool.js';

const FILES = [
  { path: 'a.py', text: 'class Cart:\n    def total(self):\n        return 1\n' },
  { path: 'b.ts', text: 'export function render(n: number) { return n; }\n' },
  { path: 'c.txt', text: 'plain words\n' },
];

describe('snippet pool', () => {
  let pool: SnippetPool | undefined;
  afterEach(() => pool?.close());

  it('cuts in real threads, and they stay up', async () => {
    const errors: Error[] = [];
    pool = new SnippetPool(2, (err) => errors.push(err));
    const [a, b, c] = await Promise.all([pool.cut(FILES.slice(0, 1)), pool.cut(FILES.slice(1, 2)), pool.cut(FILES.slice(2))]);
    expect(a![0]).toMatchObject({
      ok: true,
      snippets: [{ qualifiedName: 'Cart' }, { qualifiedName: 'Cart.total', terms: expect.stringContaining('total:') }],
    });
    expect(b![0]).toMatchObject({ ok: true, snippets: [{ qualifiedName: 'render', language: 'typescript' }] });
    expect(c![0]).toMatchObject({ ok: true, snippets: [{ kind: 'lines', language: 'text' }] });
    expect(errors).toEqual([]);
    expect(pool.threads).toBe(2);
  });

  it('runs inline with one thread, with the same answers', async () => {
    pool = new SnippetPool(1);
    expect(pool.threads).toBe(0);
    const threaded = new SnippetPool(2);
    try {
      expect(await pool.cut(FILES)).toEqual(await threaded.cut(FILES));
    } finally {
      await threaded.close();
    }
  });
});
