import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeOpenAI, startFakeOpenAI } from '../../test/helpers/fake-openai.js';
import { freePort } from '../../test/helpers/kodah-process.js';
import { loadConfig } from '../config.js';
import { KodahError } from '../lib/errors.js';
import { type OpenAiChatModelOptions, openAiChatModel } from './chat-model.js';
import { supportsTools } from './tool-support.js';

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
    fake.reply((request) => request.messages.at(-1)!.content!.toUpperCase());
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

  it('says which setting to change when the conversation is longer than the model takes', async () => {
    // vLLM's words for it; OpenAI's: "This model's maximum context length is 128000 tokens…".
    const said = "This model's maximum context length is 32768 tokens. However, you requested 40211 tokens in the messages.";
    fake.reply({ status: 400, body: { error: { message: said } } });
    const err = await failure(model({ maxRetries: 3, contextTokens: 128_000 }).complete(ask, {}));
    expect(err).toMatchObject({ code: 'model_unavailable', retryable: false });
    expect(err.message).toMatch(
      /maximum context length is 32768[\s\S]*Set KODAH_MODEL_CONTEXT_TOKENS to the context "test-model" takes \(now 128000\)/,
    );
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

describe('openAiChatModel with tools', () => {
  const readFile = {
    name: 'read_file',
    description: 'Reads a file of the repository.',
    parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  };

  it('sends tools, reads the calls, and sends the calls and their answers back in OpenAI’s shape', async () => {
    fake.reply({ toolCalls: [{ id: 'call_a', name: 'read_file', arguments: { path: 'cart.py' } }] });
    const first = await model().complete(ask, { tools: [readFile] });
    expect(first).toMatchObject({
      content: '',
      toolCalls: [{ id: 'call_a', name: 'read_file', arguments: '{"path":"cart.py"}' }],
      finishReason: 'tool_calls',
    });
    expect(fake.requests[0]).toMatchObject({
      tools: [{ type: 'function', function: readFile }],
      tool_choice: 'auto',
    });

    // An agent that answers from what the tool gave it.
    fake.reply((request) => `I read: ${request.messages.findLast((m) => m.role === 'tool')!.content}`);
    const second = await model().complete(
      [
        ...ask,
        { role: 'assistant', content: '', toolCalls: first.toolCalls },
        { role: 'tool', toolCallId: 'call_a', content: 'def total(items): ...' },
      ],
      { tools: [readFile] },
    );
    expect(second).toMatchObject({ content: 'I read: def total(items): ...', toolCalls: [], finishReason: 'stop' });
    expect(fake.requests[1]!.messages.slice(2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'read_file', arguments: '{"path":"cart.py"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_a', content: 'def total(items): ...' },
    ]);
  });

  it('sends neither tools nor tool_choice when none are offered', async () => {
    fake.reply('plain', 'plain again');
    expect((await model().complete(ask, {})).toolCalls).toEqual([]);
    await model().complete(ask, { tools: [] });
    for (const request of fake.requests) {
      expect(Object.keys(request).sort()).toEqual(['messages', 'model', 'stream']);
      expect(request.messages).toEqual(ask);
    }
  });

  it('keeps text beside the calls, and malformed arguments as the model wrote them', async () => {
    const broken = '{"path": "cart.py", "start": 3,';
    fake.reply({ content: 'Let me look.', toolCalls: [{ name: 'read_file', arguments: broken }] });
    const result = await model().complete(ask, { tools: [readFile] });
    expect(result.content).toBe('Let me look.');
    expect(result.toolCalls).toEqual([{ id: expect.stringMatching(/^call_fake_/), name: 'read_file', arguments: broken }]);
  });

  it('reads the tool calls of loose servers, and skips what is not a function call', async () => {
    const toolCalls = [
      { function: { name: 'list_files' } },
      { id: 'x1', type: 'function', function: { name: 'run', arguments: { command: 'pytest -q' } } },
      { id: 'x2', type: 'function', function: { name: 'read_file', arguments: null } },
      { id: 'x3', type: 'custom', custom: { name: 'grammar', input: 'abc' } },
      { id: 'x4', type: 'function', function: { arguments: '{}' } },
      'garbage',
      null,
    ];
    fake.reply({ status: 200, body: { choices: [{ message: { content: null, tool_calls: toolCalls }, finish_reason: 'stop' }] } });
    const chat = model();
    const result = await chat.complete(ask, { tools: [readFile] });
    expect(result.toolCalls).toEqual([
      { id: 'call_1', name: 'list_files', arguments: '{}' },
      { id: 'x1', name: 'run', arguments: '{"command":"pytest -q"}' },
      { id: 'x2', name: 'read_file', arguments: '{}' },
    ]);
    // Made-up ids do not repeat within a conversation.
    fake.reply({ status: 200, body: { choices: [{ message: { tool_calls: [toolCalls[0]] } }] } });
    expect((await chat.complete(ask, { tools: [readFile] })).toolCalls[0]!.id).toBe('call_2');
  });

  it('estimates the tokens of calls, tool answers and tool definitions when the server counts none', async () => {
    const unreported = (message: object) => ({ status: 200, body: { choices: [{ message, finish_reason: 'stop' }] } });
    const args = JSON.stringify({ path: 'src/cart/checkout/total_price_calculation.py', start: 120, end: 240 });
    fake.reply(
      unreported({ content: 'ok' }),
      unreported({ content: 'ok' }),
      unreported({ content: 'ok' }),
      unreported({ content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'read_file', arguments: args } }] }),
    );
    const plain = await model().complete(ask, {});
    const offered = await model().complete(ask, { tools: [readFile] });
    const answered = await model().complete(
      [
        ...ask,
        { role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'read_file', arguments: args }] },
        { role: 'tool', toolCallId: 'c', content: 'def total(items):\n    return sum(i.price for i in items)\n'.repeat(5) },
      ],
      {},
    );
    const called = await model().complete(ask, { tools: [readFile] });
    expect(offered.usage.promptTokens).toBeGreaterThan(plain.usage.promptTokens + 10);
    expect(answered.usage.promptTokens).toBeGreaterThan(plain.usage.promptTokens + 60);
    expect(called.usage.completionTokens).toBeGreaterThan(plain.usage.completionTokens + 10);
  });

  it('answers model_no_tools, naming the endpoint and the model, when the server cannot take tools', async () => {
    fake.tools = false;
    fake.reply('for the request without tools');
    const err = await failure(model({ maxRetries: 2 }).complete(ask, { tools: [readFile] }));
    expect(err).toMatchObject({ code: 'model_no_tools', kind: 'system', retryable: false });
    expect(err.message).toContain(new URL(fake.baseUrl).host);
    expect(err.message).toContain('"test-model"');
    expect(err.message).toContain('--enable-auto-tool-choice');
    expect(inspect(err, { depth: 10 })).not.toContain('s3cret');
    expect(fake.requests).toHaveLength(1);
    // The same server still answers without tools.
    expect((await model().complete(ask, {})).content).toBe('for the request without tools');
  });

  // How servers without function calling answer a request with tools (Ollama, LiteLLM, OpenAI,
  // and servers that answer 501 Not Implemented): the providers' own words, not placeholders.
  it.each([
    [400, 'registry.ollama.ai/library/gemma:2b does not support tools'],
    [400, "litellm.UnsupportedParamsError: ollama does not support parameters: ['tools'], for model=gemma:2b"],
    [400, 'Unrecognized request argument supplied: tools'],
    [422, 'tools is not supported'],
    [404, 'Function calling is not enabled for this model'],
    [501, 'tool_choice is not implemented'],
  ])('reads a %i "%s" as model_no_tools', async (status, message) => {
    fake.reply({ status, body: { error: { message, type: 'invalid_request_error', param: null, code: null } } });
    expect(await failure(model().complete(ask, { tools: [readFile] }))).toMatchObject({ code: 'model_no_tools', retryable: false });
  });

  it('keeps other refusals model_unavailable: a bad tool definition of ours, or no tools sent', async () => {
    const refusal = (message: string) => ({ status: 400, body: { error: { message, type: 'invalid_request_error' } } });
    fake.reply(
      refusal("Invalid schema for function 'read_file': 'object' is not supported as a type here."),
      refusal('Invalid JSON payload received. Unknown name "additionalProperties" at \'tools[0].function.parameters\''),
      refusal('this server does not support tools'),
    );
    for (const tools of [[readFile], [readFile], undefined]) {
      expect(await failure(model().complete(ask, { ...(tools && { tools }) }))).toMatchObject({ code: 'model_unavailable' });
    }
  });
});

describe('supportsTools', () => {
  it('says yes once per model, after one small request with one tool', async () => {
    fake.reply({ toolCalls: [{ name: 'ping', arguments: {} }] });
    const chat = model();
    expect(await Promise.all([supportsTools(chat), supportsTools(chat)])).toEqual([true, true]);
    expect(await supportsTools(chat)).toBe(true);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.tools).toEqual([{ type: 'function', function: expect.objectContaining({ name: 'ping' }) }]);
    expect(fake.requests[0]!.max_tokens).toBeLessThanOrEqual(64);
    // Another model instance (maybe another endpoint) asks for itself.
    fake.reply('pong, in words');
    expect(await supportsTools(model())).toBe(true);
    expect(fake.requests).toHaveLength(2);
  });

  it('says no, once, when the server refuses tools', async () => {
    fake.tools = false;
    const chat = model();
    expect(await supportsTools(chat)).toBe(false);
    expect(await supportsTools(chat)).toBe(false);
    expect(fake.requests).toHaveLength(1);
  });

  it('takes an answer cut off by the small max_tokens as a yes', async () => {
    fake.reply({ content: '', finishReason: 'length' });
    expect(await supportsTools(model())).toBe(true);
  });

  it('rethrows other failures and asks again next time', async () => {
    fake.reply({ status: 503 }, { toolCalls: [{ name: 'ping', arguments: {} }] });
    const chat = model();
    expect(await failure(supportsTools(chat))).toMatchObject({ code: 'model_unavailable', retryable: true });
    expect(await supportsTools(chat)).toBe(true);
    expect(fake.requests).toHaveLength(2);
  });
});

describe('the fake OpenAI server', () => {
  it('refuses a conversation that breaks the tool protocol, as OpenAI does', async () => {
    const tools = [{ name: 'run', description: 'Runs a command.', parameters: { type: 'object', properties: {} } }];
    fake.reply('never used', { toolCalls: [{ name: 'run', arguments: {} }] });
    const orphan = await failure(model().complete([...ask, { role: 'tool', toolCallId: 'call_x', content: 'ok' }], { tools }));
    expect(orphan.message).toMatch(/role 'tool' must be a response to a preceeding message with 'tool_calls'/);
    const unanswered = await failure(
      model().complete([...ask, { role: 'assistant', content: '', toolCalls: [{ id: 'call_y', name: 'run', arguments: '{}' }] }], {
        tools,
      }),
    );
    expect(unanswered.message).toMatch(/call_y/);
    expect(fake.pending).toBe(2);
  });
});
