import { openAiClient } from '../llm/openai-client.js';
import { KodahError } from '../lib/errors.js';

/** Turns texts into vectors; one implementation per provider protocol. */
export interface Embedder {
  readonly model: string;
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Any OpenAI-compatible /embeddings endpoint, through the openai package. */
export function openAiEmbedder(options: { baseUrl: string; apiKey: string; model: string; timeoutMs?: number }): Embedder {
  const client = openAiClient({ baseUrl: options.baseUrl, apiKey: options.apiKey, timeoutMs: options.timeoutMs ?? 60_000, maxRetries: 3 });
  return {
    model: options.model,
    async embed(texts, signal) {
      try {
        const response = await client.embeddings.create({ model: options.model, input: texts, encoding_format: 'float' }, { signal });
        const out: Float32Array[] = new Array(texts.length);
        for (const item of response.data) out[item.index] = normalise(Float32Array.from(item.embedding));
        if (out.some((v) => !v)) throw new Error('the endpoint returned fewer vectors than texts');
        return out;
      } catch (err) {
        throw new KodahError('repository_unavailable', `Embeddings endpoint failed: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
          retryable: true,
        });
      }
    },
  };
}

/** Unit length, so cosine similarity is a dot product. */
function normalise(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

export function vectorToBytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function bytesToVector(b: Uint8Array): Float32Array {
  // Copy: the driver's buffer may not be 4-byte aligned.
  const copy = new Uint8Array(b);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}
