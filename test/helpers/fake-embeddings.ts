import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeEmbeddings {
  /** The base URL to configure, ending in /v1. */
  baseUrl: string;
  /** Texts embedded so far, in order. */
  inputs: string[];
  /** Answer every request with this status until cleared (null). */
  failWith: number | null;
  close(): Promise<void>;
}

const DIMENSIONS = 32;
/** Words that mean the same to this "model": a vector search finds one for the other. */
const SYNONYMS: Record<string, string> = { cost: 'price', costs: 'price', prices: 'price', sum: 'total', amount: 'total' };

function bucket(word: string): number {
  let h = 0;
  for (const ch of SYNONYMS[word] ?? word) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h % DIMENSIONS;
}

/** A bag of words hashed into a small vector: similar texts get similar vectors, deterministically. */
export function fakeVector(text: string): number[] {
  const v = new Array<number>(DIMENSIONS).fill(0);
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) v[bucket(word)]! += 1;
  return v;
}

/** An OpenAI-compatible /v1/embeddings endpoint over real HTTP. */
export async function startFakeEmbeddings(): Promise<FakeEmbeddings> {
  const state: FakeEmbeddings = { baseUrl: '', inputs: [], failWith: null, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/embeddings')) return res.writeHead(404).end();
      if (state.failWith) return res.writeHead(state.failWith, { 'content-type': 'application/json' }).end('{"error":{"message":"down"}}');
      const { input, model } = JSON.parse(body) as { input: string | string[]; model: string };
      const texts = Array.isArray(input) ? input : [input];
      state.inputs.push(...texts);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          object: 'list',
          model,
          data: texts.map((t, index) => ({ object: 'embedding', index, embedding: fakeVector(t) })),
          usage: { prompt_tokens: texts.length, total_tokens: texts.length },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}
