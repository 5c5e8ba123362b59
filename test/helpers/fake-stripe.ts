import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/*
 * A local fake of the few Stripe endpoints Kodah calls, spoken over HTTP so that the real `stripe`
 * SDK (pointed here with STRIPE_API_BASE) runs unchanged: form-encoded requests, Bearer keys,
 * Idempotency-Key replays, Stripe's error envelope. Webhook deliveries are signed with the SDK's
 * own test helper, the same HMAC scheme Stripe uses.
 */

/** A Checkout Session as Stripe answers it (the fields Kodah or a reader of the tests looks at). */
export interface FakeSession {
  id: string;
  object: 'checkout.session';
  amount_subtotal: number;
  amount_total: number;
  currency: string;
  client_reference_id: string | null;
  created: number;
  expires_at: number;
  livemode: false;
  metadata: Record<string, string>;
  mode: string;
  payment_intent: string | null;
  payment_status: 'paid' | 'unpaid' | 'no_payment_required';
  status: 'open' | 'complete' | 'expired';
  success_url: string | null;
  cancel_url: string | null;
  url: string | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  authorization: string | null;
  /** The form body decoded into nested objects (`line_items[0][quantity]` → line_items[0].quantity). */
  form: Record<string, any>;
}

export interface FakeStripe {
  /** For STRIPE_API_BASE. */
  url: string;
  /** The key the fake accepts (any other Bearer key gets Stripe's 401). */
  secretKey: string;
  webhookSecret: string;
  requests: RecordedRequest[];
  sessions: Map<string, FakeSession>;
  /** The next create answers with this HTTP status and Stripe's error envelope (and asks the SDK not to retry). */
  failNextCreate(status: number): void;
  /** A signed delivery of `type` for the session, as Stripe would POST it; `changes` alter the session in the event only. */
  delivery(
    type: string,
    sessionId: string,
    options?: { changes?: Partial<FakeSession>; secret?: string },
  ): { body: string; headers: Record<string, string> };
  /**
   * A signed delivery of any event with `object` as its data (a charge, a dispute…); `id` fixes the
   * event's id, as Stripe keeps it when it delivers one event again.
   */
  event(
    type: string,
    object: Record<string, unknown>,
    options?: { id?: string; secret?: string },
  ): { body: string; headers: Record<string, string> };
  close(): Promise<void>;
}

/** `a[b][0][c]=1` pairs into nested objects and arrays, the way Stripe reads the SDK's forms. */
export function decodeForm(text: string): Record<string, any> {
  const root: Record<string, any> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const parts = key.split(/\[|\]\[|\]/).filter((p) => p !== '');
    let node: any = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        node[part] = value;
        return;
      }
      node[part] ??= /^\d+$/.test(parts[i + 1]!) ? [] : {};
      node = node[part];
    });
  }
  return root;
}

function stripeError(res: ServerResponse, status: number, type: string, message: string): void {
  // Stripe-Should-Retry: false keeps the SDK from retrying, so one failure is one failed call.
  res.writeHead(status, {
    'content-type': 'application/json',
    'request-id': `req_${randomBytes(7).toString('hex')}`,
    'stripe-should-retry': 'false',
  });
  res.end(JSON.stringify({ error: { type, message } }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const nowS = () => Math.floor(Date.now() / 1000);

/** The fake on a free port of 127.0.0.1. */
export async function startFakeStripe(): Promise<FakeStripe> {
  const secretKey = `sk_test_${randomBytes(12).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(16).toString('hex')}`;
  const requests: RecordedRequest[] = [];
  const sessions = new Map<string, FakeSession>();
  // Idempotency-Key → the body it was first sent with and the session it made.
  const replays = new Map<string, { body: string; sessionId: string }>();
  let failure: number | null = null;

  function createSession(form: Record<string, any>): FakeSession {
    const items: any[] = form.line_items ?? [];
    const total = items.reduce((sum, item) => sum + Number(item.price_data?.unit_amount ?? 0) * Number(item.quantity ?? 1), 0);
    const id = `cs_test_${randomBytes(24).toString('base64url')}`;
    const session: FakeSession = {
      id,
      object: 'checkout.session',
      amount_subtotal: total,
      amount_total: total,
      currency: items[0]?.price_data?.currency ?? 'usd',
      client_reference_id: form.client_reference_id ?? null,
      created: nowS(),
      expires_at: nowS() + 24 * 3600,
      livemode: false,
      metadata: form.metadata ?? {},
      mode: form.mode,
      payment_intent: null,
      payment_status: 'unpaid',
      status: 'open',
      success_url: form.success_url ?? null,
      cancel_url: form.cancel_url ?? null,
      url: `https://checkout.stripe.com/c/pay/${id}`,
    };
    sessions.set(id, session);
    return session;
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = (req.url ?? '/').split('?')[0]!;
      const idempotencyKey = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
      const authorization = req.headers.authorization ?? null;
      const form = decodeForm(body);
      requests.push({ method: req.method ?? 'GET', path, idempotencyKey, authorization, form });
      if (authorization !== `Bearer ${secretKey}`) return stripeError(res, 401, 'invalid_request_error', 'Invalid API Key provided');
      const get = /^\/v1\/checkout\/sessions\/([\w-]+)$/.exec(path);
      if (req.method === 'GET' && get) {
        const session = sessions.get(get[1]!);
        if (!session) return stripeError(res, 404, 'invalid_request_error', `No such checkout.session: '${get[1]}'`);
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(session));
      }
      if (req.method !== 'POST' || path !== '/v1/checkout/sessions')
        return stripeError(res, 404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${path})`);
      if (failure !== null) {
        const status = failure;
        failure = null;
        return stripeError(res, status, 'api_error', 'Something went wrong on Stripe’s end');
      }
      if (form.mode !== 'payment' || !Array.isArray(form.line_items))
        return stripeError(res, 400, 'invalid_request_error', 'mode and line_items are required');
      const replay = idempotencyKey ? replays.get(idempotencyKey) : undefined;
      if (replay && replay.body !== body)
        return stripeError(
          res,
          400,
          'idempotency_error',
          'Keys for idempotent requests can only be used with the same parameters they were first used with.',
        );
      const session = replay ? sessions.get(replay.sessionId)! : createSession(form);
      if (idempotencyKey && !replay) replays.set(idempotencyKey, { body, sessionId: session.id });
      res.writeHead(200, { 'content-type': 'application/json', ...(replay ? { 'idempotent-replayed': 'true' } : {}) });
      res.end(JSON.stringify(session));
    })().catch((err: unknown) => stripeError(res, 500, 'api_error', String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const signer = new Stripe(secretKey);
  function signedEvent(type: string, object: object, options: { id?: string; secret?: string } = {}) {
    const event = {
      id: options.id ?? `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      api_version: Stripe.API_VERSION,
      created: nowS(),
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
    const payload = JSON.stringify(event);
    const signature = signer.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? webhookSecret });
    return { body: payload, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature } };
  }

  return {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    webhookSecret,
    requests,
    sessions,
    failNextCreate(status) {
      failure = status;
    },
    delivery(type, sessionId, options = {}) {
      const session = sessions.get(sessionId) ?? ({ id: sessionId } as FakeSession);
      return signedEvent(type, { ...session, ...options.changes }, { secret: options.secret });
    },
    event: signedEvent,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
