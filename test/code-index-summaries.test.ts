import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type FakeChatRequest, type FakeOpenAI, startFakeOpenAI } from './helpers/fake-openai.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http-server.js';
import { databaseKinds } from './helpers/test-database.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { waitForIndex } from './helpers/wait-for-index.js';

/** Names that say nothing: only a summary tells a search what these do. */
const FILES: Record<string, string> = {
  'shop/ops.py': 'def f1(items):\n    return sum(i["price"] for i in items)\n\n\ndef f2(total, pct):\n    return total * (1 - pct / 100)\n',
  'shop/io.py': 'def f3(path):\n    with open(path) as fh:\n        return fh.read()\n',
};
/** What the fake model says each function does. */
const MEANING: Record<string, string> = {
  f1: 'Adds up the prices of the items in a shopping cart.',
  f2: 'Applies a percentage discount to a total.',
  f3: 'Reads a receipt file from disk and returns its text.',
  f4: 'Formats an amount of money with its currency symbol.',
};

interface AskedSnippet {
  n: number;
  name: string;
  code: string;
}

/** The fake model's side of the summary step: reads the snippets asked for, answers the JSON the prompt wants. */
function summaries(asked: AskedSnippet[][]) {
  return (request: FakeChatRequest) => {
    const { snippets } = JSON.parse(request.messages[1]!.content!) as { snippets: AskedSnippet[] };
    asked.push(snippets);
    const answer = snippets.map((s) => ({ n: s.n, summary: MEANING[s.name] ?? `Code named ${s.name}.` }));
    return `Here you are:\n\`\`\`json\n${JSON.stringify({ summaries: answer })}\n\`\`\``;
  };
}

describe.each(databaseKinds)('snippet summaries on %s', (kind) => {
  let git: GitHttpServer;

  beforeAll(async () => {
    git = await startGitHttpServer();
  });
  afterAll(async () => {
    await git?.close();
  });

  /** A server whose model is a fake of this test's own: no scripted answer leaks between tests. */
  async function app(env: Record<string, string>): Promise<{ target: TestApp; model: FakeOpenAI }> {
    const model = await startFakeOpenAI();
    onTestFinished(() => model.close());
    const started = await startTestApp(kind, {
      env: { OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'sk-test', KODAH_MODEL_MAX_RETRIES: '0', ...env },
    });
    onTestFinished(() => started.stop());
    return { target: started, model };
  }
  const search = (target: TestApp, key: string, attributes: object) =>
    target.api(key, 'POST', '/api/v1/search', { data: { type: 'search', attributes } });
  const stepOf = (steps: any[], name: string) => steps.find((s) => s.attributes.step === name).attributes;

  it('summarizes each snippet once, searches the summaries with `text`, and pays only for changed code later', async () => {
    const asked: AskedSnippet[][] = [];
    const { target, model } = await app({ KODAH_SUMMARY_MODEL: 'summarizer' });
    // One request per run: three snippets, then the two whose code changed.
    model.reply(summaries(asked), summaries(asked));
    const { key } = await target.account();
    const first = git.createRepo('summarized', FILES);
    const created = await target.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url('summarized') } },
    });
    const steps = await waitForIndex(target, key, created.body.data.id, first);
    expect(stepOf(steps, 'summarize')).toMatchObject({ state: 'completed', progress: 100 });
    expect(stepOf(steps, 'summarize').message).toMatch(/^3 summarized, 0 from the cache, \d+ tokens$/);
    expect(
      asked
        .flat()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['f1', 'f2', 'f3']);
    expect(model.requests.at(-1)!.model).toBe('summarizer');

    // Nothing in the code says "shopping cart": the summary does.
    const found = await search(target, key, { text: 'shopping cart prices', limit: 3 });
    expect(found.body.data[0].attributes).toMatchObject({ name: 'f1', summary: MEANING.f1 });
    const byKeyword = await search(target, key, { keywords: ['f3'], limit: 1 });
    expect(byKeyword.body.data[0].attributes.summary).toBe(MEANING.f3);

    // A new commit: one new function, one changed, the rest as they were.
    const second = git.commit('summarized', {
      'shop/ops.py': `${FILES['shop/ops.py']!.replace('(1 - pct / 100)', '(100 - pct) / 100')}\n\ndef f4(amount):\n    return f"${'$'}{amount:.2f}"\n`,
    });
    asked.length = 0;
    await target.api(key, 'POST', '/api/v1/indexes', { data: { type: 'index', attributes: { uri: git.url('summarized') } } });
    const later = await waitForIndex(target, key, created.body.data.id, second);
    expect(
      asked
        .flat()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['f2', 'f4']);
    // f1 is in a new blob (the file changed) but its code is not: the cache covers it.
    expect(stepOf(later, 'summarize').message).toMatch(/^2 summarized, 1 from the cache, \d+ tokens$/);
    const money = await search(target, key, { text: 'currency symbol', limit: 1 });
    expect(money.body.data[0].attributes).toMatchObject({ name: 'f4', summary: MEANING.f4 });
  });

  it('stops at the token budget, leaves the rest for the next run, and survives answers it cannot use', async () => {
    const { target, model } = await app({ KODAH_SUMMARY_MODEL: 'budgeted', KODAH_INDEX_SUMMARY_MAX_TOKENS: '1' });
    // Not JSON: nothing usable. A second request would find no answer and fail the run.
    model.reply('I would rather not.');
    const { key } = await target.account();
    const files = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`m${i}.py`, `def g${i}():\n    return ${i}\n`]));
    const head = git.createRepo('budgeted', files);
    const created = await target.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url('budgeted') } },
    });
    const steps = await waitForIndex(target, key, created.body.data.id, head);
    // 25 snippets in batches of 20: the unusable answer spends the budget, the second batch waits.
    expect(stepOf(steps, 'summarize').message).toMatch(/^0 summarized, 0 from the cache, \d+ tokens; 25 left for the next run/);
    expect(model.requests).toHaveLength(1);
    const found = await search(target, key, { keywords: ['g3'], limit: 1 });
    expect(found.body.data[0].attributes.summary).toBe('');
  });

  it('without a summary model the step is skipped and summaries are empty, even with a fix model', async () => {
    const { target, model } = await app({});
    const { key } = await target.account();
    const head = git.createRepo('unsummarized', FILES);
    const created = await target.api(key, 'POST', '/api/v1/repositories', {
      data: { type: 'repository', attributes: { remote_uri: git.url('unsummarized') } },
    });
    const steps = await waitForIndex(target, key, created.body.data.id, head);
    expect(stepOf(steps, 'summarize')).toMatchObject({ state: 'skipped', message: 'no summary model configured (KODAH_SUMMARY_MODEL)' });
    const found = await search(target, key, { keywords: ['f1'], limit: 1 });
    expect(found.body.data[0].attributes.summary).toBe('');
    expect(model.requests).toHaveLength(0);
  });
});
