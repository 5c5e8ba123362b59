import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tool call on the wire, as OpenAI spells it (arguments a JSON string). */
export interface FakeWireToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

/**
 * One message of a request, loosely: system and user carry text; an assistant turn that called
 * tools carries `tool_calls` and may have `content: null`; a tool answer carries `tool_call_id`.
 */
export interface FakeChatMessage {
  role: string;
  content: string | null;
  tool_calls?: FakeWireToolCall[];
  tool_call_id?: string;
  [key: string]: unknown;
}

/** A function offered to the model, as the request carried it. */
export interface FakeWireTool {
  type: string;
  function: { name: string; description?: string; parameters?: unknown };
}

/** The body of a chat completion request as the fake received it. */
export interface FakeChatRequest {
  model: string;
  messages: FakeChatMessage[];
  tools?: FakeWireTool[];
  tool_choice?: unknown;
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

/**
 * An answer that calls tools, as a real chat completion with `message.tool_calls` and finish
 * reason `tool_calls`. Arguments given as an object are sent as JSON; a string is sent as it is,
 * so a test can send malformed JSON. Without an id the fake makes one (`call_fake_<n>`).
 */
export interface FakeToolCalls {
  toolCalls: Array<{ name: string; arguments: string | object; id?: string }>;
  /** Text beside the calls; null on the wire when absent. */
  content?: string;
  finishReason?: string;
  usage?: { promptTokens: number; completionTokens: number };
}

/** An HTTP error (or any raw answer): 429 with `retry-after`, 500, 401, a malformed 200… */
export interface FakeStatus {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** What a scripted answer may be, once decided (a function of the request returns one of these). */
export type FakeAnswer = string | FakeCompletion | FakeToolCalls | FakeStatus;

/**
 * One scripted answer, consumed by one request: the assistant's text, a completion with pinned
 * details, tool calls, a raw status, a function of the request (an agent that reads the tool
 * answers it got), or a hang: `{ hang: true }` never answers, `{ hang: 'body' }` sends a 200 and
 * the start of a body, then nothing more; a promise holds the request until it resolves to the
 * answer (a model call a test keeps waiting, then releases).
 */
export type FakeReply = FakeAnswer | { hang: true | 'body' } | ((request: FakeChatRequest) => FakeAnswer) | Promise<FakeAnswer>;

export interface FakeOpenAIOptions {
  /**
   * False: the server has no function calling, as vLLM without --enable-auto-tool-choice: any
   * request offering tools is answered 400 with vLLM's message and consumes no scripted reply.
   */
  tools?: boolean;
}

/** vLLM's words (and error shape) for a request with tools when auto tool choice is not enabled. */
export const VLLM_NO_TOOLS_MESSAGE = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set';

export interface FakeOpenAI {
  /** The base URL to configure, ending in /v1. */
  baseUrl: string;
  /** Every chat completion request received, in order, answered or not. */
  requests: FakeChatRequest[];
  /** Queues replies; each request takes the next one. An empty queue answers 500, loudly. */
  reply(...replies: FakeReply[]): void;
  /** Replies queued and not yet consumed. */
  readonly pending: number;
  /** Whether requests with tools are served (see FakeOpenAIOptions.tools); may be switched mid-test. */
  tools: boolean;
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

/** The text a message costs: its content and the calls it made. */
const messageText = (m: FakeChatMessage) =>
  [m.content ?? '', ...(m.tool_calls ?? []).map((c) => `${c.function?.name ?? ''} ${c.function?.arguments ?? ''}`)].join('\n');

function completion(request: FakeChatRequest, reply: FakeCompletion | FakeToolCalls): unknown {
  const toolCalls =
    'toolCalls' in reply
      ? reply.toolCalls.map((call) => ({
          id: call.id ?? `call_fake_${++ids}`,
          type: 'function',
          function: { name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments) },
        }))
      : null;
  const content = 'toolCalls' in reply ? (reply.content ?? null) : reply.content;
  const answered = [content ?? '', ...(toolCalls ?? []).map((c) => `${c.function.name} ${c.function.arguments}`)].join('\n');
  const promptTokens = reply.usage?.promptTokens ?? roughTokens(request.messages.map(messageText).join('\n'));
  const completionTokens = reply.usage?.completionTokens ?? roughTokens(answered);
  return {
    id: `chatcmpl-fake-${++ids}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, ...(toolCalls && { tool_calls: toolCalls }) },
        finish_reason: reply.finishReason ?? (toolCalls ? 'tool_calls' : 'stop'),
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/**
 * What OpenAI refuses in a conversation with tools: a call without its answer, an answer to no
 * call. The fake refuses it too (400, OpenAI's words), so an agent loop that breaks the protocol
 * fails its tests here rather than against a real server. Null when the conversation is sound.
 */
function toolProtocolError(messages: FakeChatMessage[]): string | null {
  let open: string[] = [];
  for (const [i, m] of messages.entries()) {
    if (m.role === 'tool') {
      if (!open.includes(m.tool_call_id ?? '')) {
        return `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' (messages[${i}], tool_call_id ${JSON.stringify(m.tool_call_id)}).`;
      }
      open = open.filter((id) => id !== m.tool_call_id);
      continue;
    }
    if (open.length > 0) {
      return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${open.join(', ')}`;
    }
    open = m.role === 'assistant' ? (m.tool_calls ?? []).map((c) => c.id) : [];
  }
  return open.length > 0 ? `The following tool_call_ids did not have response messages: ${open.join(', ')}` : null;
}

/** An OpenAI-compatible /v1/chat/completions over real HTTP that answers from a per-test script. */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const queue: FakeReply[] = [];
  const requests: FakeChatRequest[] = [];
  let tools = options.tools ?? true;

  const answer = (request: FakeChatRequest, res: ServerResponse) => {
    // A server without function calling refuses before it generates anything.
    if (!tools && request.tools !== undefined) {
      return send(res, 400, { error: { message: VLLM_NO_TOOLS_MESSAGE, type: 'BadRequestError', param: null, code: 400 } });
    }
    const broken = Array.isArray(request.messages) ? toolProtocolError(request.messages) : null;
    if (broken) return sendError(res, 400, broken);
    const next = queue.shift();
    if (next === undefined) return sendError(res, 500, 'fake-openai: no scripted reply');
    // The client's timeout (or close()) ends a hung request.
    if (typeof next === 'object' && 'hang' in next) {
      if (next.hang === 'body') res.writeHead(200, { 'content-type': 'application/json' }).write('{"id":"chatcmpl-stalled",');
      return;
    }
    if (next instanceof Promise) {
      next.then(
        (held) => respond(request, res, held),
        (err: unknown) => sendError(res, 500, `fake-openai: the held reply failed: ${String(err)}`),
      );
      return;
    }
    let reply: FakeAnswer;
    try {
      reply = typeof next === 'function' ? next(request) : next;
    } catch (err) {
      return sendError(res, 500, `fake-openai: the scripted reply function threw: ${String(err)}`);
    }
    respond(request, res, reply);
  };

  const respond = (request: FakeChatRequest, res: ServerResponse, reply: FakeAnswer) => {
    // The client may have given up on a held request meanwhile.
    if (res.destroyed) return;
    if (typeof reply === 'string') return send(res, 200, completion(request, { content: reply }));
    if ('status' in reply) {
      const body = reply.body ?? {
        error: { message: `fake-openai: scripted status ${reply.status}`, type: 'fake_openai_error', param: null, code: null },
      };
      return send(res, reply.status, body, reply.headers);
    }
    if ('toolCalls' in reply && !request.tools?.length) {
      // 400: not retried, so the test's failure quotes this rather than "no scripted reply".
      return sendError(res, 400, 'fake-openai: the script answers with tool calls, but the request offered no tools');
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
    get tools() {
      return tools;
    },
    set tools(enabled: boolean) {
      tools = enabled;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Hung requests and keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
