import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RecordedRequest, type StandIn, startStandIn, startStandIns } from '../../local/stand-ins.js';

type Json = Record<string, unknown>;

interface CallOptions {
  json?: unknown;
  body?: string;
  headers?: Record<string, string>;
}

/** Calls a stand-in with global fetch; a JSON payload is sent with `Content-Type: application/json`. */
async function call<T = Json>(standIn: StandIn, method: string, path: string, options: CallOptions = {}) {
  const { json, body, headers = {} } = options;
  const response = await fetch(`${standIn.baseUrl}${path}`, {
    method,
    headers: json === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: json === undefined ? body : JSON.stringify(json),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === '' ? null : JSON.parse(text)) as T,
  };
}

const recorded = async (standIn: StandIn) =>
  (await call<RecordedRequest[]>(standIn, 'GET', '/_requests')).body;

const invoice = { customerEmail: 'ada@example.com', currency: 'EUR', amountTotal: 4200, orderId: 'ord_1' };

describe('accounting stand-in', () => {
  let accounting: StandIn;
  beforeEach(async () => {
    accounting = await startStandIn('accounting');
  });
  afterEach(async () => {
    await accounting.close();
  });

  it('creates an open invoice with an inv_ id and the given fields', async () => {
    // Prepare
    const lines = [{ sku: 'TEA-1', quantity: 2, amount: 2100 }];

    // Act
    const created = await call(accounting, 'POST', '/invoices', { json: { ...invoice, lines } });

    // Assess
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/json');
    expect(created.body).toEqual({
      id: expect.stringMatching(/^inv_[0-9a-f]+$/),
      status: 'open',
      ...invoice,
      lines,
    });
  });

  it('voids a known invoice', async () => {
    // Prepare
    const created = await call(accounting, 'POST', '/invoices', { json: invoice });

    // Act
    const voided = await call(accounting, 'POST', `/invoices/${created.body.id}/void`);

    // Assess
    expect(voided.status).toBe(200);
    expect(voided.body).toEqual({ id: created.body.id, status: 'void' });
  });

  it('answers 404 not_found when voiding an unknown invoice', async () => {
    // Act
    const voided = await call(accounting, 'POST', '/invoices/inv_missing/void');

    // Assess
    expect(voided.status).toBe(404);
    expect(voided.body).toEqual({ error: 'not_found' });
  });

  it('replays the first response for a repeated Idempotency-Key and creates no second invoice', async () => {
    // Prepare
    const headers = { 'Idempotency-Key': 'order-ord_1' };
    const first = await call(accounting, 'POST', '/invoices', { json: invoice, headers });

    // Act
    const repeat = await call(accounting, 'POST', '/invoices', { json: invoice, headers });
    const other = await call(accounting, 'POST', '/invoices', {
      json: invoice,
      headers: { 'Idempotency-Key': 'x' },
    });
    const voided = await call(accounting, 'POST', `/invoices/${first.body.id}/void`);

    // Assess
    expect(repeat.status).toBe(201);
    expect(repeat.body).toEqual(first.body);
    expect(repeat.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(other.body.id).not.toBe(first.body.id);
    expect(voided.body).toEqual({ id: first.body.id, status: 'void' });
    expect(await recorded(accounting)).toHaveLength(4);
  });

  it('replays the original body even after the invoice has changed', async () => {
    // Prepare
    const headers = { 'Idempotency-Key': 'order-ord_1' };
    const first = await call(accounting, 'POST', '/invoices', { json: invoice, headers });
    await call(accounting, 'POST', `/invoices/${first.body.id}/void`);

    // Act
    const repeat = await call(accounting, 'POST', '/invoices', { json: invoice, headers });

    // Assess
    expect(repeat.body).toEqual({ ...first.body, status: 'open' });
  });

  it('scopes an Idempotency-Key to the route it was used on', async () => {
    // Prepare
    const a = await call(accounting, 'POST', '/invoices', { json: invoice });
    const b = await call(accounting, 'POST', '/invoices', { json: invoice });
    const headers = { 'Idempotency-Key': 'void-1' };

    // Act
    const voidA = await call(accounting, 'POST', `/invoices/${a.body.id}/void`, { headers });
    const voidB = await call(accounting, 'POST', `/invoices/${b.body.id}/void`, { headers });

    // Assess
    expect(voidA.body).toEqual({ id: a.body.id, status: 'void' });
    expect(voidB.body).toEqual({ id: b.body.id, status: 'void' });
  });

  it('answers 422 naming a missing or mistyped required field', async () => {
    // Prepare
    const { amountTotal: _, ...withoutAmount } = invoice;

    // Act
    const missing = await call(accounting, 'POST', '/invoices', { json: withoutAmount });
    const fractional = await call(accounting, 'POST', '/invoices', {
      json: { ...invoice, amountTotal: 42.5 },
    });
    const badLines = await call(accounting, 'POST', '/invoices', { json: { ...invoice, lines: 'none' } });

    // Assess
    expect(missing.status).toBe(422);
    expect(missing.body).toEqual({ error: 'invalid_request', field: 'amountTotal' });
    expect(fractional.body).toEqual({ error: 'invalid_request', field: 'amountTotal' });
    expect(badLines.body).toEqual({ error: 'invalid_request', field: 'lines' });
  });

  it('answers 400 invalid_json for a malformed body and still records it raw', async () => {
    // Act
    const response = await call(accounting, 'POST', '/invoices', {
      body: '{"customerEmail":',
      headers: { 'Content-Type': 'application/json' },
    });

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_json' });
    expect((await recorded(accounting))[0]?.body).toBe('{"customerEmail":');
  });

  it('does not store a failed request under its Idempotency-Key', async () => {
    // Prepare
    const headers = { 'Idempotency-Key': 'retry-me' };
    await call(accounting, 'POST', '/invoices', { json: { ...invoice, currency: undefined }, headers });

    // Act
    const retry = await call(accounting, 'POST', '/invoices', { json: invoice, headers });

    // Assess
    expect(retry.status).toBe(201);
  });

  it('answers 404 not_found for an unknown path or method', async () => {
    // Act
    const unknownPath = await call(accounting, 'POST', '/payments', { json: {} });
    const unknownMethod = await call(accounting, 'GET', '/invoices');

    // Assess
    expect(unknownPath.status).toBe(404);
    expect(unknownPath.body).toEqual({ error: 'not_found' });
    expect(unknownMethod.status).toBe(404);
    expect(await recorded(accounting)).toHaveLength(2);
  });

  it('records requests in arrival order with lower-cased headers and the parsed JSON body', async () => {
    // Prepare
    await call(accounting, 'POST', '/invoices?expand=lines', {
      json: invoice,
      headers: { 'X-Trace-Id': 'T-1' },
    });
    await call(accounting, 'POST', '/invoices/inv_missing/void', {
      body: 'plain',
      headers: { 'X-Trace-Id': 'T-2' },
    });

    // Act
    const requests = await recorded(accounting);

    // Assess
    expect(requests).toEqual([
      {
        method: 'POST',
        path: '/invoices?expand=lines',
        headers: expect.objectContaining({ 'content-type': 'application/json', 'x-trace-id': 'T-1' }),
        body: invoice,
      },
      {
        method: 'POST',
        path: '/invoices/inv_missing/void',
        headers: expect.objectContaining({ 'x-trace-id': 'T-2' }),
        body: 'plain',
      },
    ]);
  });

  it('records a request without a body with a null body', async () => {
    // Act
    await call(accounting, 'POST', '/invoices/inv_missing/void');

    // Assess
    expect((await recorded(accounting))[0]?.body).toBeNull();
  });

  it('clears the recorded requests on DELETE /_requests', async () => {
    // Prepare
    await call(accounting, 'POST', '/invoices', { json: invoice });

    // Act
    const cleared = await call(accounting, 'DELETE', '/_requests');

    // Assess
    expect(cleared.status).toBe(204);
    expect(await recorded(accounting)).toEqual([]);
  });
});

describe('crm stand-in', () => {
  let crm: StandIn;
  beforeEach(async () => {
    crm = await startStandIn('crm');
  });
  afterEach(async () => {
    await crm.close();
  });

  it('upserts a customer addressed by the URL-encoded email in the path', async () => {
    // Act
    const upserted = await call(crm, 'PUT', `/customers/${encodeURIComponent('ada+hub@example.com')}`, {
      json: { firstName: 'Ada', lastName: 'Lovelace' },
    });

    // Assess
    expect(upserted.status).toBe(200);
    expect(upserted.body).toEqual({
      id: expect.stringMatching(/^cus_[0-9a-f]+$/),
      email: 'ada+hub@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
    });
  });

  it('keeps the id and merges the fields when the same email is upserted again', async () => {
    // Prepare
    const first = await call(crm, 'PUT', '/customers/ada%40example.com', { json: { firstName: 'Ada' } });

    // Act
    const second = await call(crm, 'PUT', '/customers/ada%40example.com', { json: { lastOrderId: 'ord_2' } });
    const other = await call(crm, 'PUT', '/customers/bob%40example.com', { json: {} });

    // Assess
    expect(second.body).toEqual({
      id: first.body.id,
      email: 'ada@example.com',
      firstName: 'Ada',
      lastOrderId: 'ord_2',
    });
    expect(other.body.id).not.toBe(first.body.id);
  });

  it('answers 422 for a mistyped field or a body that is not an object, and 400 for a malformed body', async () => {
    // Act
    const mistyped = await call(crm, 'PUT', '/customers/ada%40example.com', { json: { firstName: 7 } });
    const notObject = await call(crm, 'PUT', '/customers/ada%40example.com', { json: ['Ada'] });
    const malformed = await call(crm, 'PUT', '/customers/ada%40example.com', {
      body: 'not json',
      headers: { 'Content-Type': 'application/json' },
    });

    // Assess
    expect(mistyped.status).toBe(422);
    expect(mistyped.body).toEqual({ error: 'invalid_request', field: 'firstName' });
    expect(notObject.body).toEqual({ error: 'invalid_request', field: 'body' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ error: 'invalid_json' });
  });
});

describe('email stand-in', () => {
  let email: StandIn;
  beforeEach(async () => {
    email = await startStandIn('email');
  });
  afterEach(async () => {
    await email.close();
  });

  it('queues a message', async () => {
    // Act
    const queued = await call(email, 'POST', '/messages', {
      json: { to: 'ada@example.com', template: 'order-confirmed', data: { orderId: 'ord_1' } },
    });

    // Assess
    expect(queued.status).toBe(202);
    expect(queued.body).toEqual({ id: expect.stringMatching(/^msg_[0-9a-f]+$/), status: 'queued' });
  });

  it('answers 422 naming a missing template or non-object data', async () => {
    // Act
    const noTemplate = await call(email, 'POST', '/messages', { json: { to: 'ada@example.com' } });
    const listData = await call(email, 'POST', '/messages', {
      json: { to: 'ada@example.com', template: 'welcome', data: [] },
    });

    // Assess
    expect(noTemplate.status).toBe(422);
    expect(noTemplate.body).toEqual({ error: 'invalid_request', field: 'template' });
    expect(listData.body).toEqual({ error: 'invalid_request', field: 'data' });
  });

  it('subscribes an email with its fields', async () => {
    // Act
    const subscribed = await call(email, 'PUT', '/subscribers/ada%40example.com', {
      json: { firstName: 'Ada' },
    });

    // Assess
    expect(subscribed.status).toBe(200);
    expect(subscribed.body).toEqual({ email: 'ada@example.com', status: 'subscribed', firstName: 'Ada' });
  });

  it('unsubscribes with 204, also when the subscriber is already absent', async () => {
    // Prepare
    await call(email, 'PUT', '/subscribers/ada%40example.com', { json: {} });

    // Act
    const first = await call(email, 'DELETE', '/subscribers/ada%40example.com');
    const again = await call(email, 'DELETE', '/subscribers/ada%40example.com');

    // Assess
    expect([first.status, first.body, again.status, again.body]).toEqual([204, null, 204, null]);
  });
});

describe('startStandIns', () => {
  it('starts all three stand-ins on distinct ports, keyed by name, each serving its own routes', async () => {
    // Act
    const standIns = await startStandIns();

    // Assess
    try {
      expect(Object.keys(standIns).sort()).toEqual(['accounting', 'crm', 'email']);
      expect(new Set(Object.values(standIns).map((standIn) => standIn.baseUrl)).size).toBe(3);
      expect(standIns.crm.name).toBe('crm');
      expect((await call(standIns.crm, 'POST', '/invoices', { json: invoice })).status).toBe(404);
      expect((await call(standIns.accounting, 'POST', '/invoices', { json: invoice })).status).toBe(201);
    } finally {
      await Promise.all(Object.values(standIns).map((standIn) => standIn.close()));
    }
  });
});

describe('close()', () => {
  it('stops answering and frees the port for a new stand-in', async () => {
    // Prepare
    const standIn = await startStandIn('email');
    await call(standIn, 'PUT', '/subscribers/ada%40example.com', { json: {} }); // leaves a kept-alive connection
    const port = Number(new URL(standIn.baseUrl).port);

    // Act
    await standIn.close();

    // Assess
    await expect(fetch(`${standIn.baseUrl}/_requests`)).rejects.toThrow();
    const again = await startStandIn('email', { port });
    expect(again.baseUrl).toBe(standIn.baseUrl);
    await again.close();
  });

  it('resolves even while a client is still sending a request body', async () => {
    // Prepare
    const standIn = await startStandIn('crm');
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => controller.enqueue(new TextEncoder().encode('{"firstName":')),
    });
    const stalled = fetch(`${standIn.baseUrl}/customers/ada%40example.com`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body,
      duplex: 'half',
    }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the request reach the server

    // Act
    await standIn.close();

    // Assess
    expect(await stalled).toBeInstanceOf(Error);
  });
});

describe('stand-in fault injection', () => {
  let accounting: StandIn;
  beforeEach(async () => {
    accounting = await startStandIn('accounting');
  });
  afterEach(async () => {
    await accounting.close();
  });

  it('answers the injected status to the next `times` requests on the path and below it, then recovers', async () => {
    // Prepare
    const injected = await call(accounting, 'POST', '/_faults', {
      json: { path: '/invoices', status: 503, times: 2 },
    });

    // Act
    const first = await call(accounting, 'POST', '/invoices', { json: invoice });
    const second = await call(accounting, 'POST', '/invoices/inv_x/void');
    const third = await call(accounting, 'POST', '/invoices', { json: invoice });

    // Assess
    expect(injected.status).toBe(201);
    expect([first.status, second.status, third.status]).toEqual([503, 503, 201]);
    expect(first.body).toEqual({ error: 'injected_fault' });
    expect((await recorded(accounting)).map((request) => request.path)).toEqual([
      '/invoices',
      '/invoices/inv_x/void',
      '/invoices',
    ]);
  });

  it('keeps a fault without `times` until it is cleared, and sends Retry-After when asked', async () => {
    // Prepare
    await call(accounting, 'POST', '/_faults', { json: { path: '/invoices', status: 429, retryAfter: 2 } });

    // Act
    const throttled = [
      await call(accounting, 'POST', '/invoices', { json: invoice }),
      await call(accounting, 'POST', '/invoices', { json: invoice }),
    ];
    const cleared = await call(accounting, 'DELETE', '/_faults');
    const after = await call(accounting, 'POST', '/invoices', { json: invoice });

    // Assess
    expect(throttled.map((response) => response.status)).toEqual([429, 429]);
    expect(throttled[0]?.headers.get('retry-after')).toBe('2');
    expect(cleared.status).toBe(204);
    expect(after.status).toBe(201);
  });

  it('answers late when told to delay, and does not touch other paths', async () => {
    // Prepare
    await call(accounting, 'POST', '/_faults', { json: { path: '/invoices/inv_1', delayMs: 300 } });
    const started = Date.now();

    // Act
    const other = await call(accounting, 'POST', '/invoices', { json: invoice });
    const otherMs = Date.now() - started;
    const late = await call(accounting, 'POST', '/invoices/inv_1/void');

    // Assess
    expect(other.status).toBe(201);
    expect(otherMs).toBeLessThan(300);
    expect(late.status).toBe(404);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('refuses a malformed fault with 400 and lists the active ones', async () => {
    // Act
    const malformed = await Promise.all([
      call(accounting, 'POST', '/_faults', { json: { status: 503 } }),
      call(accounting, 'POST', '/_faults', { json: { path: '/invoices' } }),
      call(accounting, 'POST', '/_faults', { json: { path: '/invoices', status: 503, times: 0 } }),
      call(accounting, 'POST', '/_faults', { body: 'not json' }),
    ]);
    await call(accounting, 'POST', '/_faults', { json: { path: '/invoices', status: 500 } });
    const listed = await call<unknown[]>(accounting, 'GET', '/_faults');

    // Assess
    expect(malformed.map((response) => response.status)).toEqual([400, 400, 400, 400]);
    expect(listed.body).toEqual([{ path: '/invoices', status: 500 }]);
  });
});
