import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerMismatches } from '../src/billing/credits.js';
import { loadConfig } from '../src/config.js';
import { monthOf } from '../src/lib/clock.js';
import { findPurchase } from '../src/billing/purchases.js';
import { type FakeStripe, startFakeStripe } from './helpers/fake-stripe.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { databaseKinds } from './helpers/test-database.js';

const PUBLIC_URL = 'https://kodah.example.com';
const PAID = { payment_status: 'paid', status: 'complete' } as const;

describe.each(databaseKinds)('buying credits with Stripe Checkout on %s', (kind) => {
  let stripe: FakeStripe;
  let app: TestApp;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    app = await startTestApp(kind, {
      workers: false,
      env: {
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
        STRIPE_API_BASE: stripe.url,
        KODAH_PUBLIC_URL: PUBLIC_URL,
      },
    });
  });
  afterAll(async () => {
    await app?.stop();
    await stripe?.close();
  });

  const paidCents = async (key: string) => (await app.api(key, 'GET', '/account')).body.paid_balance_cents as number;

  /** A checkout of `usd` for the account; the session's id. */
  async function checkout(key: string, usd: number): Promise<string> {
    const res = await app.api(key, 'POST', '/account/checkout', { usd });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.session_id;
  }

  /** POSTs a delivery to the webhook as Stripe would. */
  async function post(delivery: { body: string; headers: Record<string, string> }) {
    const res = await fetch(`${app.url}/api/stripe/webhook`, { method: 'POST', headers: delivery.headers, body: delivery.body });
    return { status: res.status, body: (await res.json()) as any };
  }

  const deliver = (type: string, sessionId: string, options?: Parameters<FakeStripe['delivery']>[2]) =>
    post(stripe.delivery(type, sessionId, options));

  const purchaseLedger = async (accountId: string) =>
    (
      await app.kodah.db.query<{ amount: number; note: string }>(
        `SELECT amount, note FROM ledger WHERE account_id = $1 AND kind = 'purchase' ORDER BY id`,
        [accountId],
      )
    ).rows;

  it('POST /account/checkout creates a Checkout session for the amount and account, records it, and returns its url', async () => {
    const { id, key } = await app.account();
    const before = stripe.requests.length;
    const res = await app.api(key, 'POST', '/account/checkout', { usd: 12.5 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ session_id: expect.stringMatching(/^cs_test_/), url: expect.stringMatching(/^https:\/\//) });
    const session = stripe.sessions.get(res.body.session_id)!;
    expect(res.body.url).toBe(session.url);
    expect(session).toMatchObject({
      amount_total: 1250,
      currency: 'usd',
      client_reference_id: id,
      metadata: { kodah_account_id: id, kodah_cents: '1250' },
      mode: 'payment',
      status: 'open',
      payment_status: 'unpaid',
    });
    const sent = stripe.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.idempotencyKey).toMatch(new RegExp(`^kodah-checkout-${id}-`));
    expect(sent[0]!.form).toMatchObject({
      mode: 'payment',
      client_reference_id: id,
      line_items: [{ quantity: '1', price_data: { currency: 'usd', unit_amount: '1250', product_data: { name: 'Kodah credits' } } }],
    });
    expect(sent[0]!.form.success_url).toMatch(new RegExp(`^${PUBLIC_URL}/`));
    expect(sent[0]!.form.cancel_url).toMatch(new RegExp(`^${PUBLIC_URL}/`));
    expect(await findPurchase(app.kodah.db, session.id)).toMatchObject({ accountId: id, cents: 1250, state: 'open', paidAt: null });
    // Nothing is credited until Stripe says it is paid.
    expect(await paidCents(key)).toBe(0);
  });

  it('the same Idempotency-Key answers with the same session; reused for another amount it is a 409', async () => {
    const { id, key } = await app.account();
    const headers = { 'content-type': 'application/json', 'x-api-key': key, 'idempotency-key': 'order-42' };
    const send = (usd: number) => fetch(`${app.url}/account/checkout`, { method: 'POST', headers, body: JSON.stringify({ usd }) });
    const first = (await (await send(20)).json()) as any;
    const second = (await (await send(20)).json()) as any;
    expect(second.session_id).toBe(first.session_id);
    const conflict = await send(30);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as any).detail).toMatch(/Idempotency-Key/);
    const { rows } = await app.kodah.db.query('SELECT session_id FROM purchases WHERE account_id = $1', [id]);
    expect(rows).toEqual([{ session_id: first.session_id }]);
  });

  it('a completed session delivered three times, then three more at once, credits the recorded amount exactly once', async () => {
    const { id, key } = await app.account();
    const sessionId = await checkout(key, 10);
    stripe.sessions.get(sessionId)!.payment_status = 'paid';
    const delivery = stripe.delivery('checkout.session.completed', sessionId, { changes: PAID });
    const sequential = [await post(delivery), await post(delivery), await post(delivery)];
    expect(sequential.map((r) => [r.status, r.body.outcome])).toEqual([
      [200, 'credited'],
      [200, 'already_paid'],
      [200, 'already_paid'],
    ]);
    const concurrent = await Promise.all([1, 2, 3].map(() => deliver('checkout.session.completed', sessionId, { changes: PAID })));
    expect(concurrent.map((r) => [r.status, r.body.outcome])).toEqual(Array(3).fill([200, 'already_paid']));
    expect(await paidCents(key)).toBe(1000);
    expect(await purchaseLedger(id)).toEqual([{ amount: 1000, note: `Stripe Checkout ${sessionId}` }]);
    expect(await findPurchase(app.kodah.db, sessionId)).toMatchObject({ state: 'paid', paidAt: expect.any(Date) });
    expect(await ledgerMismatches(app.kodah.db)).toEqual([]);
  });

  it('concurrent first deliveries of a new session credit once', async () => {
    const { id, key } = await app.account();
    const sessionId = await checkout(key, 7.25);
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => deliver('checkout.session.completed', sessionId, { changes: PAID })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(results.filter((r) => r.body.outcome === 'credited')).toHaveLength(1);
    expect(await paidCents(key)).toBe(725);
    expect(await purchaseLedger(id)).toHaveLength(1);
  });

  /** A purchase of `usd` paid through its completed session, whose event names its payment intent. */
  async function paidPurchase(key: string, usd: number) {
    const sessionId = await checkout(key, usd);
    const paymentIntent = `pi_test_${randomBytes(12).toString('hex')}`;
    const paid = await deliver('checkout.session.completed', sessionId, { changes: { ...PAID, payment_intent: paymentIntent } });
    expect(paid.body.outcome).toBe('credited');
    return { sessionId, paymentIntent, chargeId: `ch_test_${randomBytes(12).toString('hex')}` };
  }
  type Paid = Awaited<ReturnType<typeof paidPurchase>>;

  /** The Charge a charge.refunded event carries: `refunded` of `amount` cents refunded so far (cumulative). */
  const charge = (p: Paid, amount: number, refunded: number, changes: Record<string, unknown> = {}) => ({
    id: p.chargeId,
    object: 'charge',
    amount,
    amount_refunded: refunded,
    currency: 'usd',
    payment_intent: p.paymentIntent,
    refunded: refunded === amount,
    status: 'succeeded',
    ...changes,
  });
  const dispute = (p: Paid, id: string, amount: number, status: string) => ({
    id,
    object: 'dispute',
    amount,
    charge: p.chargeId,
    currency: 'usd',
    payment_intent: p.paymentIntent,
    reason: 'fraudulent',
    status,
  });
  const reversals = async (accountId: string) =>
    (
      await app.kodah.db.query<{ kind: string; amount: number }>(
        `SELECT kind, amount FROM ledger WHERE account_id = $1 AND kind IN ('purchase_refund', 'dispute', 'dispute_won') ORDER BY id`,
        [accountId],
      )
    ).rows.map((r) => [r.kind, r.amount]);
  /** Accepts a job through the database's own accept path (the one POST /jobs calls): its answer. */
  const accept = async (accountId: string, visibility: 'public' | 'private') =>
    (
      await app.kodah.db.query<{ outcome: string }>(
        `SELECT kodah_accept_job($1, $2, 'fix', 'https://github.com/acme/private', 'main', 'a bug', $3, 'api', NULL, $4, 500, 10, 100, false) AS outcome`,
        [randomUUID(), accountId, visibility, monthOf(new Date())],
      )
    ).rows[0]!.outcome;

  it('a full refund delivered three times, then three more at once, takes the credits back once', async () => {
    const { id, key } = await app.account();
    const p = await paidPurchase(key, 10);
    const refund = stripe.event('charge.refunded', charge(p, 1000, 1000));
    const sequential = [await post(refund), await post(refund), await post(refund)];
    expect(sequential.map((r) => [r.status, r.body.outcome])).toEqual([
      [200, 'reversed'],
      [200, 'already_reversed'],
      [200, 'already_reversed'],
    ]);
    const concurrent = await Promise.all([1, 2, 3].map(() => post(refund)));
    expect(concurrent.map((r) => [r.status, r.body.outcome])).toEqual(Array(3).fill([200, 'already_reversed']));
    expect(await paidCents(key)).toBe(0);
    expect(await reversals(id)).toEqual([['purchase_refund', -1000]]);
    expect(await ledgerMismatches(app.kodah.db)).toEqual([]);
  });

  it('partial refunds take back what each adds to the amount refunded, in whatever order their events arrive', async () => {
    const { id, key } = await app.account();
    const p = await paidPurchase(key, 20);
    const first = stripe.event('charge.refunded', charge(p, 2000, 500));
    const second = stripe.event('charge.refunded', charge(p, 2000, 1200));
    expect((await post(first)).body.outcome).toBe('reversed');
    expect(await paidCents(key)).toBe(1500);
    expect((await post(second)).body.outcome).toBe('reversed');
    expect(await paidCents(key)).toBe(800);
    // The first redelivered, and a third event Stripe sent late with a smaller total: nothing more.
    expect((await post(first)).body.outcome).toBe('already_reversed');
    expect((await post(stripe.event('charge.refunded', charge(p, 2000, 900)))).body.outcome).toBe('already_reversed');
    expect(await paidCents(key)).toBe(800);
    expect(await reversals(id)).toEqual([
      ['purchase_refund', -500],
      ['purchase_refund', -700],
    ]);
    // A refund beyond the purchase (another charge's amount named here by mistake) takes back the purchase at most.
    expect((await post(stripe.event('charge.refunded', charge(p, 2000, 5000)))).body.outcome).toBe('reversed');
    expect(await paidCents(key)).toBe(0);
    expect(await ledgerMismatches(app.kodah.db)).toEqual([]);
  });

  it('a dispute takes back credits already spent (a negative balance that keeps paid jobs out until a top-up); won, they come back once', async () => {
    const { id, key } = await app.account();
    const p = await paidPurchase(key, 10);
    expect(await accept(id, 'private')).toBe('accepted');
    expect(await paidCents(key)).toBe(500);
    const opened = stripe.event('charge.dispute.created', dispute(p, 'dp_test_1', 1000, 'needs_response'));
    expect((await post(opened)).body.outcome).toBe('reversed');
    expect((await post(opened)).body.outcome).toBe('already_reversed');
    expect(await paidCents(key)).toBe(-500);
    expect((await app.api(key, 'GET', '/account')).body.paid_balance).toBe(-5);
    // A debt: no paid (private) job until it is paid; the month's free fixes still serve public repositories.
    expect(await accept(id, 'private')).toBe('private_needs_paid');
    expect(await accept(id, 'public')).toBe('accepted');
    // A top-up pays the debt first.
    await paidPurchase(key, 5);
    expect(await paidCents(key)).toBe(0);
    expect(await accept(id, 'private')).toBe('private_needs_paid');

    // Still open, nothing moves; won, what the opening took comes back, once however often it is delivered.
    expect((await post(stripe.event('charge.dispute.updated', dispute(p, 'dp_test_1', 1000, 'under_review')))).body.outcome).toBe(
      'ignored',
    );
    const won = stripe.event('charge.dispute.closed', dispute(p, 'dp_test_1', 1000, 'won'));
    expect((await post(won)).body.outcome).toBe('restored');
    expect((await post(won)).body.outcome).toBe('already_reversed');
    expect(await paidCents(key)).toBe(1000);
    expect(await reversals(id)).toEqual([
      ['dispute', -1000],
      ['dispute_won', 1000],
    ]);
    expect(await ledgerMismatches(app.kodah.db)).toEqual([]);
  });

  it('a dispute lost keeps the credits taken; one closed before its opening arrived takes nothing when the opening comes', async () => {
    const { id, key } = await app.account();
    const lost = await paidPurchase(key, 10);
    expect((await post(stripe.event('charge.dispute.created', dispute(lost, 'dp_test_lost', 1000, 'needs_response')))).body.outcome).toBe(
      'reversed',
    );
    expect((await post(stripe.event('charge.dispute.closed', dispute(lost, 'dp_test_lost', 1000, 'lost')))).body.outcome).toBe('ignored');
    expect(await paidCents(key)).toBe(0);

    const late = await paidPurchase(key, 10);
    expect((await post(stripe.event('charge.dispute.closed', dispute(late, 'dp_test_late', 1000, 'won')))).body.outcome).toBe(
      'already_reversed',
    );
    expect((await post(stripe.event('charge.dispute.created', dispute(late, 'dp_test_late', 1000, 'needs_response')))).body.outcome).toBe(
      'already_reversed',
    );
    expect(await paidCents(key)).toBe(1000);
    // A dispute after a full refund has nothing left to take.
    expect((await post(stripe.event('charge.refunded', charge(late, 1000, 1000)))).body.outcome).toBe('reversed');
    expect((await post(stripe.event('charge.dispute.created', dispute(late, 'dp_test_after', 1000, 'needs_response')))).body.outcome).toBe(
      'already_reversed',
    );
    expect(await paidCents(key)).toBe(0);
    expect(await reversals(id)).toEqual([
      ['dispute', -1000],
      ['purchase_refund', -1000],
    ]);
  });

  it('unsigned, forged, unknown-charge and other-currency refund and dispute events change nothing', async () => {
    const { id, key } = await app.account();
    const p = await paidPurchase(key, 10);
    const ledgerRows = async () => (await app.kodah.db.query('SELECT count(*)::int AS n FROM ledger')).rows[0];
    const before = await ledgerRows();
    const genuine = stripe.event('charge.refunded', charge(p, 1000, 1000));
    expect(await post({ body: genuine.body, headers: { 'content-type': 'application/json' } })).toEqual({
      status: 400,
      body: { detail: 'Missing Stripe-Signature header' },
    });
    const forged = stripe.event('charge.refunded', charge(p, 1000, 1000), { secret: 'whsec_not_the_secret' });
    expect((await post(forged)).status).toBe(400);
    expect(
      (await post({ body: genuine.body.replace('"amount_refunded":1000', '"amount_refunded":999'), headers: genuine.headers })).status,
    ).toBe(400);
    const someoneElses = { ...p, paymentIntent: 'pi_test_not_kodahs' };
    expect((await post(stripe.event('charge.refunded', charge(someoneElses, 1000, 1000)))).body.outcome).toBe('unknown_charge');
    expect((await post(stripe.event('charge.dispute.created', dispute(someoneElses, 'dp_x', 1000, 'needs_response')))).body.outcome).toBe(
      'unknown_charge',
    );
    expect((await post(stripe.event('charge.refunded', charge(p, 1000, 1000, { payment_intent: null })))).body.outcome).toBe(
      'unknown_charge',
    );
    expect((await post(stripe.event('charge.refunded', charge(p, 1000, 1000, { currency: 'eur' })))).body.outcome).toBe('mismatch');
    expect((await post(stripe.event('charge.refunded', { id: 'ch_x', payment_intent: p.paymentIntent }))).body.outcome).toBe('malformed');
    // An open session's payment intent is not recorded: its charge is nobody's purchase yet.
    const open = await checkout(key, 10);
    expect((await post(stripe.event('charge.refunded', charge({ ...p, paymentIntent: `pi_of_${open}` }, 1000, 1000)))).body.outcome).toBe(
      'unknown_charge',
    );
    expect(await ledgerRows()).toEqual(before);
    expect(await paidCents(key)).toBe(1000);
    expect(await reversals(id)).toEqual([]);
    // The genuine event still applies afterwards.
    expect((await post(genuine)).body.outcome).toBe('reversed');
    expect(await paidCents(key)).toBe(0);
  });

  it('unsigned, forged and malformed deliveries are refused with 400 and change nothing', async () => {
    const { key } = await app.account();
    const sessionId = await checkout(key, 10);
    const genuine = stripe.delivery('checkout.session.completed', sessionId, { changes: PAID });
    const unsigned = await post({ body: genuine.body, headers: { 'content-type': 'application/json' } });
    expect(unsigned).toEqual({ status: 400, body: { detail: 'Missing Stripe-Signature header' } });
    const forged = await deliver('checkout.session.completed', sessionId, { changes: PAID, secret: 'whsec_not_the_secret' });
    expect(forged).toEqual({ status: 400, body: { detail: 'Invalid Stripe signature' } });
    // A genuine signature over other bytes: the body was altered on the way.
    const altered = await post({ body: genuine.body.replace('"amount_total":1000', '"amount_total":100000'), headers: genuine.headers });
    expect(altered.status).toBe(400);
    const garbage = await post({ body: 'not json', headers: { 'content-type': 'text/plain', 'stripe-signature': 't=1,v1=00' } });
    expect(garbage.status).toBe(400);
    expect(await paidCents(key)).toBe(0);
    expect(await findPurchase(app.kodah.db, sessionId)).toMatchObject({ state: 'open' });
  });

  it('a body over 1 MiB is refused before it is verified', async () => {
    const res = await post({
      body: 'x'.repeat(1024 * 1024 + 1),
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
    });
    expect(res.status).toBe(413);
  });

  it('events for sessions Kodah did not create, and other event types, are acknowledged and change nothing', async () => {
    const before = await app.kodah.db.query('SELECT count(*)::int AS n FROM ledger');
    const unknown = await deliver('checkout.session.completed', 'cs_test_someone_elses', {
      changes: { ...PAID, amount_total: 5000, currency: 'usd', client_reference_id: null },
    });
    expect(unknown).toEqual({ status: 200, body: { received: true, outcome: 'unknown_session' } });
    const other = await deliver('customer.created', 'cus_123');
    expect(other).toEqual({ status: 200, body: { received: true, outcome: 'ignored' } });
    expect(await app.kodah.db.query('SELECT count(*)::int AS n FROM ledger')).toEqual(before);
  });

  it('a completed but unpaid session (a delayed payment method) credits nothing until async_payment_succeeded', async () => {
    const { key } = await app.account();
    const sessionId = await checkout(key, 25);
    const pending = await deliver('checkout.session.completed', sessionId, { changes: { status: 'complete', payment_status: 'unpaid' } });
    expect(pending).toEqual({ status: 200, body: { received: true, outcome: 'unpaid' } });
    expect(await paidCents(key)).toBe(0);
    expect(await findPurchase(app.kodah.db, sessionId)).toMatchObject({ state: 'open' });
    const succeeded = await deliver('checkout.session.async_payment_succeeded', sessionId, { changes: PAID });
    expect(succeeded.body.outcome).toBe('credited');
    expect(await paidCents(key)).toBe(2500);
    // The completed event redelivered afterwards, now paid, changes nothing.
    expect((await deliver('checkout.session.completed', sessionId, { changes: PAID })).body.outcome).toBe('already_paid');
    expect(await paidCents(key)).toBe(2500);
  });

  it('an event whose amount or currency differs from the recorded purchase is refused, and the recorded amount stays payable', async () => {
    const { id, key } = await app.account();
    const sessionId = await checkout(key, 10);
    for (const changes of [{ amount_total: 100_000 }, { amount_total: 1 }, { amount_total: null }, { currency: 'eur' }]) {
      const res = await deliver('checkout.session.completed', sessionId, { changes: { ...PAID, ...changes } as any });
      expect(res).toEqual({ status: 200, body: { received: true, outcome: 'mismatch' } });
    }
    expect(await paidCents(key)).toBe(0);
    expect(await findPurchase(app.kodah.db, sessionId)).toMatchObject({ state: 'open' });
    expect((await deliver('checkout.session.completed', sessionId, { changes: PAID })).body.outcome).toBe('credited');
    expect(await purchaseLedger(id)).toEqual([{ amount: 1000, note: expect.any(String) }]);
  });

  it('a session of one account never credits another, whatever the event names', async () => {
    const mine = await app.account();
    const theirs = await app.account();
    const sessionId = await checkout(mine.key, 50);
    const asTheirs = { ...PAID, client_reference_id: theirs.id, metadata: { kodah_account_id: theirs.id, kodah_cents: '5000' } };
    expect((await deliver('checkout.session.completed', sessionId, { changes: asTheirs })).body.outcome).toBe('mismatch');
    const metadataOnly = { ...PAID, metadata: { kodah_account_id: theirs.id, kodah_cents: '5000' } };
    expect((await deliver('checkout.session.completed', sessionId, { changes: metadataOnly })).body.outcome).toBe('mismatch');
    expect(await paidCents(mine.key)).toBe(0);
    expect(await paidCents(theirs.key)).toBe(0);
    expect(await findPurchase(app.kodah.db, sessionId)).toMatchObject({ accountId: mine.id, state: 'open' });
  });

  it('checkout.session.expired closes the purchase; a paid purchase stays paid', async () => {
    const { key } = await app.account();
    const open = await checkout(key, 5);
    expect((await deliver('checkout.session.expired', open, { changes: { status: 'expired' } })).body.outcome).toBe('expired');
    expect(await findPurchase(app.kodah.db, open)).toMatchObject({ state: 'expired' });
    const paid = await checkout(key, 5);
    await deliver('checkout.session.completed', paid, { changes: PAID });
    expect((await deliver('checkout.session.expired', paid, { changes: { status: 'expired' } })).body.outcome).toBe('ignored');
    expect(await findPurchase(app.kodah.db, paid)).toMatchObject({ state: 'paid' });
    expect(await paidCents(key)).toBe(500);
  });

  it('amounts outside the bounds, with more than two decimals or not numbers are 422s naming the bounds', async () => {
    const { id, key } = await app.account();
    const before = stripe.requests.length;
    for (const body of [
      { usd: 4.99 },
      { usd: 500.01 },
      { usd: 10.001 },
      { usd: 0 },
      { usd: -10 },
      { usd: 'ten' },
      { usd: null },
      {},
      { usd: 1e21 },
    ]) {
      const res = await app.api(key, 'POST', '/account/checkout', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.detail).toContain('from $5.00 to $500.00');
    }
    expect((await app.api(key, 'POST', '/account/checkout', [1])).status).toBe(422);
    expect(stripe.requests.length).toBe(before);
    expect((await app.kodah.db.query('SELECT 1 FROM purchases WHERE account_id = $1', [id])).rows).toEqual([]);
    // The bounds themselves are allowed.
    await checkout(key, 5);
    await checkout(key, 500);
  });

  it('checkout needs an API key, and a Stripe failure is a 502 that records nothing', async () => {
    expect((await app.api(null, 'POST', '/account/checkout', { usd: 10 })).status).toBe(401);
    expect((await app.api('kdh_wrong', 'POST', '/account/checkout', { usd: 10 })).status).toBe(401);
    const { id, key } = await app.account();
    stripe.failNextCreate(500);
    const res = await app.api(key, 'POST', '/account/checkout', { usd: 10 });
    expect(res).toMatchObject({ status: 502, body: { detail: expect.stringMatching(/try again/) } });
    expect((await app.kodah.db.query('SELECT 1 FROM purchases WHERE account_id = $1', [id])).rows).toEqual([]);
  });

  it('without Stripe configured both endpoints say purchases are off and how the operator adds credits', async () => {
    const plain = await startTestApp(kind, { workers: false });
    try {
      const { key } = await plain.account();
      const res = await plain.api(key, 'POST', '/account/checkout', { usd: 10 });
      expect(res.status).toBe(503);
      expect(res.body.detail).toMatch(/not enabled.*npx kodah credits add/);
      const hook = await fetch(`${plain.url}/api/stripe/webhook`, { method: 'POST', body: '{}', headers: { 'stripe-signature': 'x' } });
      expect(hook.status).toBe(503);
      expect((await plain.api(key, 'GET', '/account')).body.paid_balance_cents).toBe(0);
    } finally {
      await plain.stop();
    }
  });
});

describe('Stripe configuration', () => {
  const pair = { STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc' };

  it('is all or nothing for the key and the webhook secret, and never echoes them', () => {
    expect(loadConfig({}).stripe).toBeNull();
    expect(() => loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc' })).toThrow(/STRIPE_WEBHOOK_SECRET: purchases need both/);
    expect(() => loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_abc' })).toThrow(/STRIPE_SECRET_KEY: purchases need both/);
    let message = '';
    try {
      loadConfig({ ...pair, STRIPE_SECRET_KEY: 'pk_test_not_secret_looking' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/STRIPE_SECRET_KEY: a Stripe secret key/);
    expect(message).not.toContain('pk_test_not_secret_looking');
  });

  it('parses STRIPE_API_BASE into host, port and protocol, with bounds and the public URL', () => {
    const config = loadConfig({ ...pair, STRIPE_API_BASE: 'http://127.0.0.1:12111', PORT: '8080' });
    expect(config.stripe).toEqual({
      secretKey: 'sk_test_abc',
      webhookSecret: 'whsec_abc',
      api: { host: '127.0.0.1', port: 12111, protocol: 'http' },
      minCents: 500,
      maxCents: 50_000,
    });
    expect(config.publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ ...pair, STRIPE_API_BASE: 'https://stripe.internal/' }).stripe!.api).toEqual({
      host: 'stripe.internal',
      port: 443,
      protocol: 'https',
    });
    expect(loadConfig({ ...pair }).stripe!.api).toBeNull();
    const custom = loadConfig({
      ...pair,
      KODAH_CHECKOUT_MIN_USD: '1',
      KODAH_CHECKOUT_MAX_USD: '1000.50',
      KODAH_PUBLIC_URL: 'https://kodah.example.com/',
    });
    expect(custom.stripe).toMatchObject({ minCents: 100, maxCents: 100_050 });
    expect(custom.publicUrl).toBe('https://kodah.example.com');
    expect(() => loadConfig({ KODAH_CHECKOUT_MIN_USD: '50', KODAH_CHECKOUT_MAX_USD: '10' })).toThrow(/KODAH_CHECKOUT_MIN_USD: at most/);
    expect(() => loadConfig({ KODAH_PUBLIC_URL: 'kodah.example.com' })).toThrow(/KODAH_PUBLIC_URL: an http\(s\) URL/);
  });
});
