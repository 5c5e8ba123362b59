import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeOpenAI, startFakeOpenAI } from '../../test/helpers/fake-openai.js';
import { freePort } from '../../test/helpers/kodah-process.js';
import { loadConfig } from '../config.js';
import { KodahError } from '../lib/errors.js';
import { type OpenAiChatModelOptions, openAiChatModel } from './chat-model.js';

const KEY = 'sk-test-0123456789-s3cret';
const ask = [
  { role: 'system' as const, content: 'You fix bugs.' },
  { role: 'user' as const, content: 'The total is off by one in cart.py.' },
];

let fake: FakeOpenAI;
beforeEach(async () => {
  fake = await startFakeOpenAI();
});
afterEach(async () => {
  await fake.close();
});

const model = (options: Partial<OpenAiChatModelOptions> = {}) =>
  openAiChatModel({ baseUrl: fake.baseUrl, apiKey: KEY, model: 'test-model', timeoutMs: 5_000, maxRetries: 0, ...options });

/** The KodahError a call fails with (the test fails if it succeeds or throws something else). */
async function failure(promise: Promise<unknown>): Promise<KodahError> {
  const err = await promise.then(
    () => expect.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KodahError);
  return err as KodahError;
}

describe('openAiChatModel', () => {
  it('returns the content, usage and priced cost, and sends what it was asked', async () => {
    fake.reply({ content: 'Use range(n) instead of range(n + 1).', usage: { promptTokens: 1000, completionTokens: 200 } });
    const result = await model({ pricing: { inputPerMTokUsd: 0.15, outputPerMTokUsd: 0.6 } }).complete(ask, {
      maxTokens: 512,
      temperature: 0.2,
    });
    expect(result).toMatchObject({
      content: 'Use range(n) instead of range(n + 1).',
      usage: { promptTokens: 1000, completionTokens: 200 },
      model: 'test-model',
      finishReason: 'stop',
    });
    expect(result.costUsd).toBeCloseTo((1000 * 0.15 + 200 * 0.6) / 1e6, 12);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({ model: 'test-model', messages: ask, max_tokens: 512, temperature: 0.2 });
    expect(fake.requests[0]!.stream).toBeFalsy();
  });

  it('costs nothing without pricing, and estimates usage a server leaves out', async () => {
    fake.reply((request) => request.messages.at(-1)!.content.toUpperCase());
    const plain = await model().complete(ask, {});
    expect(plain.content).toBe('THE TOTAL IS OFF BY ONE IN CART.PY.');
    expect(plain.costUsd).toBe(0);

    fake.reply({ status: 200, body: { model: 'served-model', choices: [{ message: { content: 'fixed' }, finish_reason: 'stop' }] } });
    const estimated = await model({ pricing: { inputPerMTokUsd: 1, outputPerMTokUsd: 1 } }).complete(ask, {});
    expect(estimated.model).toBe('served-model');
    expect(estimated.usage.promptTokens).toBeGreaterThan(10);
    expect(estimated.usage.completionTokens).toBeGreaterThan(0);
    expect(estimated.costUsd).toBeGreaterThan(0);
  });

  it('retries a 500 and succeeds', async () => {
    fake.reply({ status: 500 }, 'second time lucky');
    const result = await model({ maxRetries: 2 }).complete(ask, {});
    expect(result.content).toBe('second time lucky');
    expect(fake.requests).toHaveLength(2);
  });

  it('waits as long as a 429 retry-after asks', async () => {
    // Without the header the client would back off about 0.4–0.5 s.
    fake.reply({ status: 429, headers: { 'retry-after': '1' } }, 'after the wait');
    const started = Date.now();
    const result = await model({ maxRetries: 1 }).complete(ask, {});
    expect(result.content).toBe('after the wait');
    expect(fake.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up after maxRetries with a retryable model_unavailable', async () => {
    const busy = { status: 503, headers: { 'retry-after': '0' } };
    fake.reply(busy, busy, busy, 'a fourth attempt would get this');
    const err = await failure(model({ maxRetries: 2 }).complete(ask, {}));
    expect(err).toMatchObject({ code: 'model_unavailable', kind: 'system', retryable: true });
    expect(err.message).toMatch(/answered 503 \(retried 2 times\)/);
    expect(fake.requests).toHaveLength(3);
    expect(fake.pending).toBe(1);
  });

  it('hands a long retry-after back to the queue instead of sleeping on it', async () => {
    fake.reply({ status: 429, headers: { 'retry-after': '3600' } }, 'not asked for');
    const started = Date.now();
    const err = await failure(model({ maxRetries: 3 }).complete(ask, {}));
    expect(err).toMatchObject({ code: 'model_unavailable', retryable: true, retryAfterS: 3600 });
    expect(fake.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('times out on a server that never answers', async () => {
    fake.reply({ hang: true });
    const started = Date.now();
    const err = await failure(model({ timeoutMs: 300 }).complete(ask, {}));
    expect(err).toMatchObject({ code: 'model_unavailable', kind: 'system', retryable: true });
    expect(err.message).toMatch(/did not answer within 0.3 s/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('times out on a body that stalls after the headers, and retries it', async () => {
    fake.reply({ hang: 'body' }, 'the retry answers');
    const result = await model({ timeoutMs: 300, maxRetries: 1 }).complete(ask, {});
    expect(result.content).toBe('the retry answers');

    fake.reply({ hang: 'body' });
    const started = Date.now();
    const err = await failure(model({ timeoutMs: 300 }).complete(ask, {}));
    expect(err).toMatchObject({ code: 'model_unavailable', retryable: true });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('stops at once when the caller aborts, even mid back-off', async () => {
    fake.reply({ status: 429, headers: { 'retry-after': '20' } }, 'too late');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const err = await failure(model({ maxRetries: 1 }).complete(ask, { signal: controller.signal }));
    expect(err).toMatchObject({ code: 'timeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(fake.requests).toHaveLength(1);
  });

  it('does not retry a 401 (our configuration), and never repeats the key', async () => {
    // A provider (or a proxy in front of one) may quote the key it refused.
    fake.reply({ status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}. Header was: Bearer ${KEY}` } } });
    const err = await failure(model({ maxRetries: 3 }).complete(ask, {}));
    expect(err).toMatchObject({ code: 'model_unavailable', kind: 'system', retryable: false });
    expect(err.message).toMatch(/answered 401: Incorrect API key provided: \[redacted\]/);
    expect(err.message).toMatch(/Check OPENAI_API_KEY/);
    expect(fake.requests).toHaveLength(1);
    for (const text of [err.message, String(err), inspect(err, { depth: 10 }), JSON.stringify(err), String(err.stack)]) {
      expect(text).not.toContain('s3cret');
    }
  });

  it.each([400, 403, 404])('does not retry a %i', async (status) => {
    fake.reply({ status }, 'not asked for');
    const err = await failure(model({ maxRetries: 3 }).complete(ask, {}));
    expect(err).toMatchObject({ code: 'model_unavailable', kind: 'system', retryable: false });
    expect(fake.requests).toHaveLength(1);
  });

  it('fails on an answer without a choice or content', async () => {
    fake.reply({ status: 200, body: { choices: [] } });
    expect(await failure(model().complete(ask, {}))).toMatchObject({ code: 'model_unavailable', kind: 'system', retryable: true });
    fake.reply({ status: 200, body: '<html>a captive portal</html>' });
    expect(await failure(model().complete(ask, {}))).toMatchObject({ code: 'model_unavailable', retryable: true });
    // Cut off by max_tokens before any content: asking again gives the same.
    fake.reply({ content: '', finishReason: 'length' });
    const cut = await failure(model().complete(ask, {}));
    expect(cut).toMatchObject({ code: 'model_unavailable', retryable: false });
    expect(cut.message).toMatch(/finish reason: length/);
  });

  it('fails loudly when a test scripted too few replies', async () => {
    const err = await failure(model().complete(ask, {}));
    expect(err.message).toContain('fake-openai: no scripted reply');
  });

  it('reports an endpoint that is not listening, without the key', async () => {
    const port = await freePort();
    const err = await failure(model({ baseUrl: `http://127.0.0.1:${port}/v1`, maxRetries: 1 }).complete(ask, {}));
    expect(err).toMatchObject({ code: 'model_unavailable', retryable: true });
    expect(err.message).toMatch(/could not be reached/);
    expect(inspect(err, { depth: 10 })).not.toContain('s3cret');
  });

  it('runs from the configuration', async () => {
    const config = loadConfig({
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: KEY,
      KODAH_MODEL: 'configured',
      KODAH_MODEL_MAX_RETRIES: '0',
    });
    const { name, ...rest } = config.model!;
    fake.reply('ok');
    const chat = openAiChatModel({ ...rest, model: name });
    expect(chat.name).toBe('configured');
    expect((await chat.complete(ask, {})).content).toBe('ok');
    expect(fake.requests[0]!.model).toBe('configured');
  });
});
