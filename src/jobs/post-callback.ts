import http from 'node:http';
import https from 'node:https';
import { type CallbackPolicy, guardedLookup, parseCallbackUrl, type ResolveHost, systemResolve } from './callback-url.js';

export interface PostCallbackOptions {
  policy: CallbackPolicy;
  resolve?: ResolveHost;
  timeoutMs: number;
}

/** How much of an answer is read: only its status matters, the rest is drained up to here and dropped. */
const MAX_ANSWER_BYTES = 4096;

/**
 * POSTs a callback and resolves to the receiver's HTTP status. The URL is checked again, the host
 * resolved once and the connection made to an address that passed the policy (guardedLookup);
 * redirects are not followed (a 3xx is just a status), and the whole exchange has one deadline.
 * Rejects with CallbackRefused when the policy refuses, with the network's error otherwise.
 */
export function postCallback(
  rawUrl: string,
  body: string,
  headers: Record<string, string>,
  options: PostCallbackOptions,
): Promise<{ status: number }> {
  const url = parseCallbackUrl(rawUrl, options.policy);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    // Once the receiver has answered, its status is the outcome, whatever then happens to the body.
    let answered: number | null = null;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (answered !== null) resolve({ status: answered });
      else reject(err ?? new Error('connection closed without an answer'));
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(options.policy, options.resolve ?? systemResolve) as never,
        // A fresh connection each time: no pooled socket made with another lookup is reused.
        agent: false,
      },
      (response) => {
        answered = response.statusCode ?? 0;
        let read = 0;
        const done = () => {
          response.destroy();
          finish(null);
        };
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read >= MAX_ANSWER_BYTES) done();
        });
        response.on('end', done);
        response.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      const late = new Error(`no answer within ${options.timeoutMs} ms`);
      request.destroy(late);
      finish(late);
    }, options.timeoutMs);
    request.on('error', (err) => finish(err));
    request.end(body);
  });
}
