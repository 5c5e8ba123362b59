import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The body of a chat completion request as the fake received it. */
export interface FakeChatRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  stream?: boolean;
  [key: string]: unknown;
}

/** A normal completion with the details a test may want to pin (usage defaults to lengths / 4). */
export interface FakeCompletion {
  content: string;
  finishReason?: string;
  usage?: { promptTokens: number; completionTokens: number };
}

/** An HTTP error (or any raw answer): 429 with `retry-after`, 500, 401, a malformed 200… */
export interface FakeStatus {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * One scripted answer, consumed by one request: the assistant's text, a completion with pinned
 * details, a raw status, a function of the request, or a hang: `{ hang: true }` never answers,
 * `{ hang: 'body' }` sends a 200 and the start of a body, then nothing more.
 */
export type FakeReply =
  string | FakeCompletion | FakeStatus | { hang: true | 'body' } | ((request: FakeChatRequest) => string | FakeCompletion | FakeStatus);

export interface FakeOpenAI {
  /** The base URL to configure, ending in /v1. */
  baseUrl: string;
  /** Every chat completion request received, in order, answered or not. */
  requests: FakeChatRequest[];
  /** Queues replies; each request takes the next one. An empty queue answers 500, loudly. */
  reply(...replies: FakeReply[]): void;
  /** Replies queued and not yet consumed. */
  readonly pending: number;
  close(): Promise<void>;
}

/** About four characters a token: close enough for usage that tests can predict. */
const roughTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers }).end(text);
}

function sendError(res: ServerResponse, status: number, message: string, headers?: Record<string, string>): void {
  send(res, status, { error: { message, type: 'fake_openai_error', param: null, code: null } }, headers);
}

let ids = 0;

function completion(request: FakeChatRequest, reply: FakeCompletion): unknown {
  const promptTokens = reply.usage?.promptTokens ?? roughTokens(request.messages.map((m) => m.content).join('\n'));
  const completionTokens = reply.usage?.completionTokens ?? roughTokens(reply.content);
  return {
    id: `chatcmpl-fake-${++ids}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: reply.content, refusal: null },
        finish_reason: reply.finishReason ?? 'stop',
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** An OpenAI-compatible /v1/chat/completions over real HTTP that answers from a per-test script. */
export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const queue: FakeReply[] = [];
  const requests: FakeChatRequest[] = [];

  const answer = (request: FakeChatRequest, res: ServerResponse) => {
    const next = queue.shift();
    if (next === undefined) return sendError(res, 500, 'fake-openai: no scripted reply');
    // The client's timeout (or close()) ends a hung request.
    if (typeof next === 'object' && 'hang' in next) {
      if (next.hang === 'body') res.writeHead(200, { 'content-type': 'application/json' }).write('{"id":"chatcmpl-stalled",');
      return;
    }
    let reply: string | FakeCompletion | FakeStatus;
    try {
      reply = typeof next === 'function' ? next(request) : next;
    } catch (err) {
      return sendError(res, 500, `fake-openai: the scripted reply function threw: ${String(err)}`);
    }
    if (typeof reply === 'string') return send(res, 200, completion(request, { content: reply }));
    if ('status' in reply) {
      const body = reply.body ?? {
        error: { message: `fake-openai: scripted status ${reply.status}`, type: 'fake_openai_error', param: null, code: null },
      };
      return send(res, reply.status, body, reply.headers);
    }
    return send(res, 200, completion(request, reply));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      return sendError(res, 404, `fake-openai: only POST /v1/chat/completions is faked, not ${req.method} ${path}`);
    }
    let request: FakeChatRequest;
    try {
      request = JSON.parse(raw) as FakeChatRequest;
    } catch {
      return sendError(res, 400, 'fake-openai: the request body is not JSON');
    }
    requests.push(request);
    if (request.stream) return sendError(res, 400, 'fake-openai: stream: true is not supported');
    answer(request, res);
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => handle(req, res, raw));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    reply: (...replies) => void queue.push(...replies),
    get pending() {
      return queue.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Hung requests and keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
