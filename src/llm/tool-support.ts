import { KodahError } from '../lib/errors.js';
import type { ChatModel, ToolSpec } from './chat-model.js';

/** Statuses servers use to refuse a request they cannot serve with tools (501: some proxies). */
const REFUSAL_STATUSES = new Set([400, 404, 422, 501]);
const MENTIONS_TOOLS = /\btools?\b|tool_choice|tool[ _-]?(?:call|use)|\bfunctions?\b|function[ _-]?call/i;
/**
 * Words of a refusal, so that a 400 about a malformed tool schema of ours ("Invalid schema for
 * function 'edit'") stays a loud model_unavailable instead of quietly dropping to single-shot.
 * Seen in the wild: vLLM's '"auto" tool choice requires --enable-auto-tool-choice…', Ollama's
 * '… does not support tools', LiteLLM's 'does not support parameters: ['tools']', Azure's
 * 'Unrecognized request argument supplied: tools', Mistral's 'Function calling is not enabled'.
 */
const REFUSES = /support|\brequires?\b|unrecogni[sz]ed|unknown|not (?:allowed|permitted|enabled|available|implemented)|disabled|--enable/i;
/** A message that points into one tool ("tools[0].function.parameters", "schema") is about our definition. */
const ABOUT_ONE_TOOL = /schema|\[\d+\]|tools\.\d/i;

/** Whether a provider's error (status and message) says the server or model cannot take tools. */
export function refusesTools(status: number, message: string): boolean {
  return REFUSAL_STATUSES.has(status) && MENTIONS_TOOLS.test(message) && REFUSES.test(message) && !ABOUT_ONE_TOOL.test(message);
}

/**
 * The probe: one function without parameters, which any model with function calling can call;
 * the plainest schema, since some servers refuse keywords such as additionalProperties.
 */
const PING: ToolSpec = { name: 'ping', description: 'Answers pong. Call it once.', parameters: { type: 'object', properties: {} } };
/** Enough for a call to `ping` (about 15 tokens), little enough to cost nothing. */
const PROBE_MAX_TOKENS = 64;
/** chat-model's words for an answer cut off before any content: the server did take the tools. */
const CUT_OFF = /answered with no content \(finish reason: length\)/;

/** Settled answers and probes in flight, per model instance (several candidates may ask at once). */
const answers = new WeakMap<ChatModel, Promise<boolean>>();

/**
 * Whether the model's server accepts function calling: one tiny request with one trivial tool,
 * asked once per model instance. False only on `model_no_tools`; anything else (an unreachable
 * endpoint, a 429, an abort) is rethrown and not remembered, since it says nothing about tools.
 * Concurrent callers share the first caller's probe, and with it that caller's abort signal.
 */
export function supportsTools(model: ChatModel, signal?: AbortSignal): Promise<boolean> {
  const known = answers.get(model);
  if (known) return known;
  const answer = probe(model, signal);
  answers.set(model, answer);
  answer.catch(() => answers.delete(model));
  return answer;
}

async function probe(model: ChatModel, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await model.complete([{ role: 'user', content: 'Call the ping tool once.' }], {
      tools: [PING],
      maxTokens: PROBE_MAX_TOKENS,
      temperature: 0,
      ...(signal && { signal }),
    });
    return true;
  } catch (err) {
    if (err instanceof KodahError && err.code === 'model_no_tools') return false;
    // A model that thinks before it answers may spend the few tokens on thought: still a yes.
    if (err instanceof KodahError && err.code === 'model_unavailable' && CUT_OFF.test(err.message)) return true;
    throw err;
  }
}
