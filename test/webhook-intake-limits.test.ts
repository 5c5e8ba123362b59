import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WEBHOOK_BYTES, WEBHOOK_PATH } from '../src/github/webhook-route.js';
import { loadExample, sendWebhook } from './helpers/github-webhooks.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

/*
 * The webhook endpoint reads a body only to verify its signature: a delivery that cannot be
 * verified (no signature, or none of GitHub's form, or without the event and delivery headers
 * Probot needs) is refused from its headers alone, and no body is buffered past GitHub's cap.
 * The refusals are checked over a raw socket that sends the head and only part of the body and
 * then stops: an answer can only come from a server that did not wait for the rest, and the
 * server must then close the connection rather than read the rest to keep it alive.
 */

const SECRET = 'webhook-secret-for-limits';
const MiB = 1024 * 1024;
const signature = (body: string | Buffer) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

interface RawAnswer {
  /** null when no answer came within the wait. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** Body bytes the client had written when the first byte of the answer arrived. */
  sentWhenAnswered: number | null;
  /** The server ended the connection (rather than keep it open to read the rest). */
  closedByServer: boolean;
}

/**
 * POSTs to the webhook path over a raw TCP connection: the head, then `send` bytes of body
 * (as one body of the declared `content-length`, or as chunks when `declared` is 'chunked'),
 * and then nothing more, never the end of the body. Resolves with the answer once the server
 * closes the connection, or with what came after `waitMs`.
 */
async function postPart(
  base: string,
  headers: Record<string, string>,
  body: { declared: number | 'chunked'; send: number },
  waitMs = 5_000,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  const socket = connect({ host: hostname, port: Number(port) });
  const received: Buffer[] = [];
  let sent = 0;
  let sentWhenAnswered: number | null = null;
  let closed = false;
  let endedByServer = false;
  socket.on('data', (chunk: Buffer) => {
    if (sentWhenAnswered === null) sentWhenAnswered = sent;
    received.push(chunk);
  });
  socket.on('end', () => (endedByServer = true));
  // Writing after the server has answered and closed may fail (EPIPE, ECONNRESET): expected.
  socket.on('error', () => {});
  const closedPromise = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });

  const framing = body.declared === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(body.declared) };
  const head = Object.entries({ host: `${hostname}:${port}`, ...headers, ...framing })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.write(`POST ${WEBHOOK_PATH} HTTP/1.1\r\n${head}\r\n`);
  const piece = Buffer.alloc(MiB, 'a');
  while (sent < body.send && !closed && sentWhenAnswered === null) {
    const part = piece.subarray(0, Math.min(piece.length, body.send - sent));
    const ok =
      body.declared === 'chunked'
        ? socket.write(Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]))
        : socket.write(part);
    sent += part.length;
    if (!ok) await Promise.race([new Promise((r) => socket.once('drain', r)), closedPromise]);
  }

  const timer = setTimeout(() => socket.destroy(), waitMs);
  await closedPromise;
  clearTimeout(timer);

  const text = Buffer.concat(received).toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return { status: null, headers: {}, body: text, sentWhenAnswered, closedByServer: endedByServer };
  const [statusLine, ...headerLines] = text.slice(0, split).split('\r\n');
  const answerHeaders = Object.fromEntries(
    headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  return {
    status: Number(statusLine!.split(' ')[1]),
    headers: answerHeaders,
    body: text.slice(split + 4),
    sentWhenAnswered,
    closedByServer: endedByServer,
  };
}

/** GitHub's headers for a delivery of `event`, without a signature. */
const githubHeaders = (event = 'issues'): Record<string, string> => ({
  'content-type': 'application/json',
  'user-agent': 'GitHub-Hookshot/abc',
  'x-github-event': event,
  'x-github-delivery': randomUUID(),
});
/** Of GitHub's form, though no HMAC of anything here. */
const WELL_FORMED = `sha256=${'ab'.repeat(32)}`;
const TOO_LARGE = `Request body too large: GitHub's webhook payloads are at most ${MAX_WEBHOOK_BYTES} bytes`;

describe('webhook intake limits', () => {
  let app: TestApp;

  beforeAll(async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    app = await startTestApp('pglite', {
      workers: false,
      env: { APP_ID: '424242', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: SECRET, GITHUB_API_URL: 'http://127.0.0.1:9' },
    });
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
  });

  /** Asserts a refusal that came while the client was still in the middle of its body, and closed the connection. */
  function expectRefusedUnread(answer: RawAnswer, status: number, detail: string, sent: number, declared: number | 'chunked') {
    expect(answer.status, `no answer while the body was unfinished: ${answer.body}`).toBe(status);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    const parsed = JSON.parse(answer.body) as { detail: string };
    expect(Object.keys(parsed)).toEqual(['detail']);
    expect(parsed.detail).toBe(detail);
    expect(answer.headers.connection).toBe('close');
    expect(answer.closedByServer).toBe(true);
    expect(answer.sentWhenAnswered).not.toBeNull();
    expect(answer.sentWhenAnswered!).toBeLessThanOrEqual(sent);
    if (declared !== 'chunked') expect(sent).toBeLessThan(declared);
  }

  it('refuses an unsigned delivery of 25 MiB with 400 after its head, without waiting for its body', async () => {
    const sent = 64 * 1024;
    const answer = await postPart(app.url, githubHeaders(), { declared: MAX_WEBHOOK_BYTES, send: sent });
    expectRefusedUnread(answer, 400, 'Required headers missing: x-hub-signature-256', sent, MAX_WEBHOOK_BYTES);
  });

  it('refuses a signature not of the form sha256=<64 hex digits> with 400 before the body', async () => {
    const forms = [
      'sha1=0123456789abcdef0123456789abcdef01234567',
      'sha256=xyz',
      `sha256=${'0'.repeat(63)}`,
      `sha256=${'AB'.repeat(32)}`,
      `${WELL_FORMED}, ${WELL_FORMED}`,
    ];
    for (const form of forms) {
      const answer = await postPart(app.url, { ...githubHeaders(), 'x-hub-signature-256': form }, { declared: 10 * MiB, send: 16 * 1024 });
      expectRefusedUnread(
        answer,
        400,
        'x-hub-signature-256 must be sha256= followed by 64 lowercase hexadecimal digits',
        16 * 1024,
        10 * MiB,
      );
    }
  });

  it('refuses a delivery without X-GitHub-Event or X-GitHub-Delivery with 400 before the body', async () => {
    const { 'x-github-event': _event, ...noEvent } = githubHeaders();
    const { 'x-github-delivery': _delivery, ...noDelivery } = githubHeaders();
    const cases: [Record<string, string>, string][] = [
      [noEvent, 'Required headers missing: x-github-event'],
      [noDelivery, 'Required headers missing: x-github-delivery'],
    ];
    for (const [headers, detail] of cases) {
      const answer = await postPart(app.url, { ...headers, 'x-hub-signature-256': WELL_FORMED }, { declared: 10 * MiB, send: 1024 });
      expectRefusedUnread(answer, 400, detail, 1024, 10 * MiB);
    }
    const bare = await postPart(app.url, { 'content-type': 'application/json' }, { declared: 10 * MiB, send: 1024 });
    expectRefusedUnread(bare, 400, 'Required headers missing: x-hub-signature-256, x-github-event, x-github-delivery', 1024, 10 * MiB);
  });

  it('refuses a signed delivery that is not JSON with 415 before the body', async () => {
    const headers = { ...githubHeaders(), 'x-hub-signature-256': WELL_FORMED, 'content-type': 'application/x-www-form-urlencoded' };
    const answer = await postPart(app.url, headers, { declared: 10 * MiB, send: 1024 });
    expectRefusedUnread(answer, 415, 'Content-Type must be application/json', 1024, 10 * MiB);
  });

  it('refuses a signed delivery whose Content-Length passes the 25 MiB cap with 413 before the body', async () => {
    for (const declared of [MAX_WEBHOOK_BYTES + 1, 100 * MiB]) {
      const answer = await postPart(app.url, { ...githubHeaders(), 'x-hub-signature-256': WELL_FORMED }, { declared, send: 64 * 1024 });
      expectRefusedUnread(answer, 413, TOO_LARGE, 64 * 1024, declared);
    }
  });

  it('cuts off a signed chunked body as soon as it passes the cap: 413 and the connection closed, the rest unread', async () => {
    const sent = MAX_WEBHOOK_BYTES + 1;
    const answer = await postPart(
      app.url,
      { ...githubHeaders(), 'x-hub-signature-256': WELL_FORMED },
      { declared: 'chunked', send: sent },
      20_000,
    );
    expectRefusedUnread(answer, 413, TOO_LARGE, sent, 'chunked');
  });

  it('still takes a correctly signed delivery, small or of exactly the cap, and still refuses a forged one after reading it', async () => {
    const labeled = loadExample('issues', (p) => p.action === 'labeled');
    delete labeled.issue.pull_request;
    const delivery = randomUUID();
    const small = await sendWebhook(app.url, 'issues', labeled, { secret: SECRET, delivery });
    expect(small.status).toBe(200);
    const recorded = await app.kodah.db.query('SELECT event, action FROM github_deliveries WHERE id = $1', [delivery]);
    expect(recorded.rows).toEqual([{ event: 'issues', action: 'labeled' }]);

    const prefix = '{"zen":"';
    const suffix = '","hook_id":1}';
    const atCap = `${prefix}${'x'.repeat(MAX_WEBHOOK_BYTES - prefix.length - suffix.length)}${suffix}`;
    expect(Buffer.byteLength(atCap)).toBe(MAX_WEBHOOK_BYTES);
    const big = await sendWebhook(app.url, 'ping', null, { secret: SECRET, rawBody: atCap });
    expect(big.status).toBe(200);

    const forgedDelivery = randomUUID();
    const forged = await sendWebhook(app.url, 'issues', labeled, { signature: signature('something else'), delivery: forgedDelivery });
    expect(forged.status).toBe(400);
    expect((await app.kodah.db.query('SELECT 1 FROM github_deliveries WHERE id = $1', [forgedDelivery])).rows).toEqual([]);
  });
});
