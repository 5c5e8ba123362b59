import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { ChatCompletionFunctionTool, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { KodahError } from '../lib/errors.js';
import { estimateTokens } from './count-tokens.js';
import { MAX_RETRY_AFTER_MS, openAiClient, retryAfterMs } from './openai-client.js';
import { refusesTools } from './tool-support.js';

/** A function the model may call (OpenAI function calling); `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** A call the model asked for. `arguments` is the raw JSON text it wrote: it may be malformed. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  /** The answer to one tool call, by its id. */
  | { role: 'tool'; toolCallId: string; content: string };

export interface ChatCompletion {
  /** The assistant's text; may be empty when it answers with tool calls only. */
  content: string;
  /** Empty unless `tools` were offered and the model called some. */
  toolCalls: ToolCall[];
  usage: { promptTokens: number; completionTokens: number };
  /** Dollars (a call costs fractions of a cent); 0 when no pricing is configured. */
  costUsd: number;
  /** The model that answered, as the provider names it. */
  model: string;
  finishReason: string | null;
}

export interface ChatOptions {
  signal?: AbortSignal;
  maxTokens?: number;
  temperature?: number;
  /** Functions the model may call. A server that cannot take tools answers `model_no_tools`. */
  tools?: ToolSpec[];
}

/** A chat model that answers a conversation; one implementation per provider protocol. */
export interface ChatModel {
  readonly name: string;
  /** The conversation it takes, in tokens, when known. */
  readonly contextTokens?: number;
  complete(messages: ChatMessage[], options: ChatOptions): Promise<ChatCompletion>;
}

export interface OpenAiChatModelOptions {
  baseUrl: string;
  apiKey: string;
  model: string;
  /** Per attempt: the client gives up on an attempt after this long and retries it. */
  timeoutMs: number;
  /** Retries after the first attempt, on timeouts, connection errors, 408, 409, 429 and 5xx. */
  maxRetries: number;
  pricing?: { inputPerMTokUsd: number; outputPerMTokUsd: number } | null;
  contextTokens?: number;
}

/** How OpenAI, vLLM, LiteLLM and llama.cpp's server refuse a conversation longer than the model takes. */
const CONTEXT_EXCEEDED =
  /context length|context window|context_length_exceeded|maximum context|too many tokens|exceeds the available context/i;
/** Provider error messages are quoted up to this length. */
const MAX_QUOTE = 300;
/** Per-message framing tokens (role, separators), for when a server reports no usage. */
const MESSAGE_OVERHEAD_TOKENS = 4;

/**
 * One entry of `message.tool_calls`, loosely: servers differ (no id, no type, arguments as an
 * object), and one odd entry must not sink the others; parseToolCalls() decides what is usable.
 */
const toolCallSchema = z.object({
  id: z.string().nullish().catch(null),
  type: z.string().nullish().catch(null),
  function: z
    .object({ name: z.string().nullish().catch(null), arguments: z.unknown().optional() })
    .nullish()
    .catch(null),
});

/** The part of a chat completion we use; anything else an "OpenAI-compatible" server sends is ignored. */
const completionSchema = z.object({
  model: z.string().nullish(),
  choices: z
    .array(
      z.object({
        message: z
          .object({
            content: z.string().nullish(),
            refusal: z.string().nullish(),
            tool_calls: z.array(z.unknown()).nullish().catch(null),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  // Some servers omit usage or fill it with nulls: then we estimate rather than count nothing.
  usage: z
    .object({ prompt_tokens: z.number().int().nonnegative(), completion_tokens: z.number().int().nonnegative() })
    .nullish()
    .catch(null),
});

/** Any OpenAI-compatible /chat/completions endpoint (OpenAI, Azure, vLLM, Ollama, LiteLLM…). */
export function openAiChatModel(options: OpenAiChatModelOptions): ChatModel {
  const client = openAiClient(options);
  const where = `The model endpoint ${endpointHost(options.baseUrl)}`;
  const redact = redactor(options.apiKey);
  const pricing = options.pricing ?? null;
  // Ids for calls a server sent without one: unique across the model's conversations.
  let unnamedCalls = 0;
  const nextCallId = () => `call_${++unnamedCalls}`;

  return {
    name: options.model,
    contextTokens: options.contextTokens,
    async complete(messages, { signal, maxTokens, temperature, tools } = {}) {
      // OpenAI refuses an empty `tools`; offering none is not offering any.
      const offered = tools?.length ? tools : undefined;
      let raw: unknown;
      try {
        const request = client.chat.completions.create(
          {
            model: options.model,
            messages: messages.map(toWireMessage),
            stream: false,
            ...(maxTokens !== undefined && { max_tokens: maxTokens }),
            ...(temperature !== undefined && { temperature }),
            ...(offered && { tools: offered.map(toWireTool), tool_choice: 'auto' as const }),
          },
          { signal },
        );
        raw = await settleOnAbort(request, signal);
      } catch (err) {
        if (signal?.aborted) throw new KodahError('timeout', 'The model call was stopped (time limit or shutdown)', { retryable: true });
        throw toModelError(err, where, options, redact, offered !== undefined);
      }

      const parsed = completionSchema.safeParse(raw);
      if (!parsed.success) {
        throw new KodahError('model_unavailable', `${where} answered with something other than a chat completion`, { retryable: true });
      }
      const choice = parsed.data.choices?.[0];
      if (!choice) throw new KodahError('model_unavailable', `${where} answered with no choices`, { retryable: true });
      const content = choice.message?.content ?? '';
      const finishReason = choice.finish_reason ?? null;
      const toolCalls = parseToolCalls(choice.message?.tool_calls ?? [], nextCallId);
      if (!content.trim() && toolCalls.length === 0) {
        const refusal = choice.message?.refusal ? `; it refused: ${quote(redact(choice.message.refusal))}` : '';
        // A cut-off or filtered answer comes back the same on a retry; an empty one may not.
        const retryable = finishReason !== 'length' && finishReason !== 'content_filter' && !refusal;
        throw new KodahError(
          'model_unavailable',
          `${where} answered with no content (finish reason: ${finishReason ?? 'none'})${refusal}`,
          { retryable },
        );
      }

      const usage = parsed.data.usage
        ? { promptTokens: parsed.data.usage.prompt_tokens, completionTokens: parsed.data.usage.completion_tokens }
        : {
            promptTokens:
              messages.reduce((sum, m) => sum + estimateMessageTokens(m), 0) +
              (offered ? estimateTokens(JSON.stringify(offered.map(toWireTool))) : 0),
            completionTokens: estimateTokens(content) + estimateCallTokens(toolCalls),
          };
      const costUsd = pricing
        ? (usage.promptTokens * pricing.inputPerMTokUsd + usage.completionTokens * pricing.outputPerMTokUsd) / 1_000_000
        : 0;
      return { content, toolCalls, usage, costUsd, model: parsed.data.model || options.model, finishReason };
    },
  };
}

/** A message as OpenAI's protocol spells it; system, user and plain assistant messages go as they were. */
function toWireMessage(message: ChatMessage): ChatCompletionMessageParam {
  if (message.role === 'tool') return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  if (message.role === 'assistant' && message.toolCalls?.length) {
    return {
      role: 'assistant',
      // OpenAI's own shape for a turn that only calls tools; some servers refuse an empty string there.
      content: message.content || null,
      tool_calls: message.toolCalls.map((call) => ({
        id: call.id,
        type: 'function' as const,
        function: { name: call.name, arguments: call.arguments },
      })),
    };
  }
  return { role: message.role, content: message.content };
}

function toWireTool(tool: ToolSpec): ChatCompletionFunctionTool {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } };
}

/**
 * The usable calls of an answer: function calls with a name. The arguments stay the model's raw
 * text, malformed or not (the caller tells the model what was wrong with them); a server that
 * sends them as an object gets them written back to JSON.
 */
function parseToolCalls(entries: unknown[], nextCallId: () => string): ToolCall[] {
  const calls: ToolCall[] = [];
  for (const entry of entries) {
    const parsed = toolCallSchema.safeParse(entry);
    if (!parsed.success) continue;
    const { id, type, function: fn } = parsed.data;
    // No type at all is a function call from a server that leaves it out; "custom" tools are not ours.
    if ((type && type !== 'function') || !fn?.name) continue;
    const args = fn.arguments;
    calls.push({
      id: id || nextCallId(),
      name: fn.name,
      arguments: typeof args === 'string' ? args : args == null ? '{}' : JSON.stringify(args),
    });
  }
  return calls;
}

function estimateCallTokens(calls: ToolCall[]): number {
  return calls.reduce((sum, call) => sum + MESSAGE_OVERHEAD_TOKENS + estimateTokens(call.name) + estimateTokens(call.arguments), 0);
}

/** A message's cost when the server reports none: its text, its calls, and a tool answer's id. */
export function estimateMessageTokens(message: ChatMessage): number {
  const text = MESSAGE_OVERHEAD_TOKENS + estimateTokens(message.content);
  if (message.role === 'tool') return text + estimateTokens(message.toolCallId);
  if (message.role === 'assistant' && message.toolCalls) return text + estimateCallTokens(message.toolCalls);
  return text;
}

/** Settles as soon as `signal` aborts: the SDK only notices an abort once its retry sleep ends. */
function settleOnAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The provider's failure as a KodahError: ours (system) either way, since a 4xx means our
 * configuration is wrong, not the user's report. No raw cause is attached: the SDK error quotes
 * the provider's body, which may echo the key, and pino would log it.
 */
function toModelError(
  err: unknown,
  where: string,
  options: OpenAiChatModelOptions,
  redact: (text: string) => string,
  sentTools: boolean,
): KodahError {
  const retried = options.maxRetries > 0 ? ` (retried ${options.maxRetries} times)` : '';
  if (err instanceof APIConnectionTimeoutError) {
    return new KodahError('model_unavailable', `${where} did not answer within ${options.timeoutMs / 1000} s${retried}`, {
      retryable: true,
    });
  }
  if (err instanceof APIConnectionError) {
    const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? err.cause.message}` : '';
    return new KodahError('model_unavailable', redact(`${where} could not be reached${cause}${retried}`), { retryable: true });
  }
  if (err instanceof APIError && err.status !== undefined) {
    const status = err.status;
    const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
    const detail = (err.error as { message?: unknown } | undefined)?.message;
    const said = quote(typeof detail === 'string' ? detail : err.message);
    const hint =
      status === 401 || status === 403
        ? ' Check OPENAI_API_KEY.'
        : status === 404
          ? ` Check KODAH_MODEL ("${options.model}") and OPENAI_BASE_URL.`
          : status === 400 && CONTEXT_EXCEEDED.test(said)
            ? ` Set KODAH_MODEL_CONTEXT_TOKENS to the context "${options.model}" takes${options.contextTokens ? ` (now ${options.contextTokens})` : ''}, or lower KODAH_FIX_CONTEXT_TOKENS.`
            : '';
    const wait = retryAfterMs(err.headers);
    // bufferedFetch said not to retry: the provider asked for a longer wait than a worker sleeps.
    const tooLong = retryable && wait !== undefined && wait > MAX_RETRY_AFTER_MS;
    const attempts = tooLong ? ` and asks to wait ${Math.ceil(wait / 1000)} s` : retryable ? retried : '';
    const requestId = err.requestID ? ` (request id ${err.requestID})` : '';
    if (sentTools && refusesTools(status, said)) {
      // Asking again gets the same refusal: only a set-up change (or no tools) helps.
      const sentence = `${where} cannot call functions with model "${options.model}": it refused a request with tools (${status}: ${said})${requestId}. Use a model and server with function calling, or set KODAH_FIX_MODE=single-shot.`;
      return new KodahError('model_no_tools', redact(sentence), { retryable: false });
    }
    const message = `${where} answered ${status}${attempts}: ${said}${requestId}.${hint}`;
    return new KodahError('model_unavailable', redact(message), {
      retryable,
      ...(wait !== undefined && wait > 0 && { retryAfterS: Math.ceil(wait / 1000) }),
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new KodahError('model_unavailable', redact(`${where} failed: ${quote(message)}`), { retryable: true });
}

/** Removes the key (and any bearer token) from text that may quote it. */
function redactor(apiKey: string): (text: string) => string {
  return (text) => {
    let out = text.replace(/\bBearer\s+\S+/gi, 'Bearer [redacted]');
    // A very short key ("x", "none") is a placeholder; replacing it would garble the message.
    if (apiKey.length >= 8) out = out.replaceAll(apiKey, '[redacted]');
    return out;
  };
}

function quote(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_QUOTE ? `${oneLine.slice(0, MAX_QUOTE)}…` : oneLine;
}

/** The host only: a base URL may carry credentials (https://user:key@host/v1). */
function endpointHost(baseUrl: string): string {
  try {
    return `at ${new URL(baseUrl).host}`;
  } catch {
    return '(OPENAI_BASE_URL)';
  }
}
