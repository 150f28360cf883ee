import { afterEach, describe, expect, it } from 'vitest';
import {
  callDownstream,
  MAX_RESPONSE_BYTES,
  parseRetryAfter,
  TerminalUpstreamError,
  TransientUpstreamError,
} from '../../functions/connectors/http.js';
import { json, type Responder, startServer, type TestServer } from './support/http-server.js';

const PLENTY_OF_TIME_MS = 10_000;

/** The error a promise rejects with (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describe('callDownstream', () => {
  let server: TestServer | undefined;
  const serve = async (respond: Responder) => {
    server = await startServer(respond);
    return server;
  };
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('returns the parsed JSON of a 2xx response', async () => {
    // Prepare
    const { baseUrl } = await serve((_, response) => json(response, 201, { id: 'inv_1', status: 'open' }));

    // Act
    const result = await callDownstream(
      baseUrl,
      { method: 'POST', path: '/invoices', body: {} },
      PLENTY_OF_TIME_MS,
    );

    // Assess
    expect(result).toEqual({ id: 'inv_1', status: 'open' });
  });

  it('returns undefined for a 2xx response without a body', async () => {
    // Prepare
    const { baseUrl } = await serve((_, response) => json(response, 204));

    // Act
    const result = await callDownstream(
      baseUrl,
      { method: 'DELETE', path: '/subscribers/a' },
      PLENTY_OF_TIME_MS,
    );

    // Assess
    expect(result).toBeUndefined();
  });

  it('sends the JSON body, the Idempotency-Key and the path below the base URL', async () => {
    // Prepare
    const target = await serve((_, response) => json(response, 200, {}));

    // Act
    await callDownstream(
      `${target.baseUrl}/api`,
      {
        method: 'PUT',
        path: '/customers/ada%40example.com',
        body: { firstName: 'Ada' },
        idempotencyKey: 'stripe:evt_1:update-customer',
      },
      PLENTY_OF_TIME_MS,
    );

    // Assess
    expect(target.requests).toHaveLength(1);
    expect(target.requests[0]).toMatchObject({
      method: 'PUT',
      path: '/api/customers/ada%40example.com',
      body: '{"firstName":"Ada"}',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'idempotency-key': 'stripe:evt_1:update-customer',
      },
    });
  });

  it('sends neither a content type nor an Idempotency-Key when the request has no body and no key', async () => {
    // Prepare
    const target = await serve((_, response) => json(response, 200, { ok: true }));

    // Act
    await callDownstream(`${target.baseUrl}/`, { method: 'GET', path: '/health' }, PLENTY_OF_TIME_MS);

    // Assess
    expect(target.requests[0]?.path).toBe('/health');
    expect(target.requests[0]?.headers['content-type']).toBeUndefined();
    expect(target.requests[0]?.headers['idempotency-key']).toBeUndefined();
  });

  it.each([500, 502, 503, 504, 429, 408])('throws TransientUpstreamError for HTTP %i', async (status) => {
    // Prepare
    const { baseUrl } = await serve((_, response) => json(response, status, { error: 'x' }));

    // Act
    const error = await rejectionOf(
      callDownstream(baseUrl, { method: 'POST', path: '/invoices' }, PLENTY_OF_TIME_MS),
    );

    // Assess
    expect(error).toBeInstanceOf(TransientUpstreamError);
    expect(error.name).toBe('TransientUpstreamError');
    expect(error.message).toBe(`POST invoices: HTTP ${status}`);
    expect((error as TransientUpstreamError).retryAfterSeconds).toBeUndefined();
  });

  it('passes on Retry-After given in seconds', async () => {
    // Prepare
    const { baseUrl } = await serve((_, response) =>
      json(response, 429, { error: 'slow_down' }, { 'Retry-After': '7' }),
    );

    // Act
    const error = await rejectionOf(
      callDownstream(baseUrl, { method: 'POST', path: '/messages' }, PLENTY_OF_TIME_MS),
    );

    // Assess
    expect(error).toBeInstanceOf(TransientUpstreamError);
    expect((error as TransientUpstreamError).retryAfterSeconds).toBe(7);
  });

  it('passes on Retry-After given as an HTTP date, in seconds from now', async () => {
    // Prepare
    const { baseUrl } = await serve((_, response) =>
      json(response, 503, undefined, { 'Retry-After': new Date(Date.now() + 120_000).toUTCString() }),
    );

    // Act
    const error = await rejectionOf(
      callDownstream(baseUrl, { method: 'POST', path: '/messages' }, PLENTY_OF_TIME_MS),
    );

    // Assess
    expect(error).toBeInstanceOf(TransientUpstreamError);
    expect((error as TransientUpstreamError).retryAfterSeconds).toBeGreaterThanOrEqual(118);
    expect((error as TransientUpstreamError).retryAfterSeconds).toBeLessThanOrEqual(120);
  });

  it.each([400, 401, 403, 404, 409, 422])(
    'throws TerminalUpstreamError with the status for HTTP %i',
    async (status) => {
      // Prepare
      const { baseUrl } = await serve((_, response) => json(response, status, { error: 'invalid_request' }));

      // Act
      const error = await rejectionOf(
        callDownstream(baseUrl, { method: 'POST', path: '/invoices' }, PLENTY_OF_TIME_MS),
      );

      // Assess
      expect(error).toBeInstanceOf(TerminalUpstreamError);
      expect(error.name).toBe('TerminalUpstreamError');
      expect((error as TerminalUpstreamError).status).toBe(status);
    },
  );

  it.each([301, 302, 307, 308])(
    'does not follow a %i redirect and throws TerminalUpstreamError',
    async (status) => {
      // Prepare
      const target = await serve((request, response) => {
        if (request.path === '/elsewhere') json(response, 200, { followed: true });
        else json(response, status, undefined, { Location: '/elsewhere' });
      });

      // Act
      const error = await rejectionOf(
        callDownstream(target.baseUrl, { method: 'POST', path: '/invoices', body: {} }, PLENTY_OF_TIME_MS),
      );

      // Assess
      expect(error).toBeInstanceOf(TerminalUpstreamError);
      expect((error as TerminalUpstreamError).status).toBe(status);
      expect(target.requests.map((request) => request.path)).toEqual(['/invoices']);
    },
  );

  it('throws TransientUpstreamError for a 2xx response that is not JSON (the outcome is unknown)', async () => {
    // Prepare
    const { baseUrl } = await serve((_, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>maintenance</html>');
    });

    // Act
    const error = await rejectionOf(
      callDownstream(baseUrl, { method: 'GET', path: '/invoices' }, PLENTY_OF_TIME_MS),
    );

    // Assess
    expect(error).toBeInstanceOf(TransientUpstreamError);
    expect(error.message).toBe('GET invoices: response is not JSON');
  });

  it.each([
    ['announced by Content-Length', true],
    ['sent without a length', false],
  ])('throws TransientUpstreamError for a response body larger than the cap, %s', async (_, announced) => {
    // Prepare: one byte over the cap, in chunks
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const { baseUrl } = await serve((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/json',
        ...(announced ? { 'content-length': String(MAX_RESPONSE_BYTES + 1) } : {}),
      });
      for (let sent = 0; sent < MAX_RESPONSE_BYTES; sent += chunk.length) response.write(chunk);
      response.end('1');
    });

    // Act
    const error = await rejectionOf(
      callDownstream(baseUrl, { method: 'POST', path: '/invoices' }, PLENTY_OF_TIME_MS),
    );

    // Assess
    expect(error).toBeInstanceOf(TransientUpstreamError);
    expect(error.message).toBe(`POST invoices: response is larger than ${MAX_RESPONSE_BYTES} bytes`);
  });

  it('reads a response body of exactly the cap', async () => {
    // Prepare: a JSON string filling the cap
    const { baseUrl } = await serve((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(`"${'a'.repeat(MAX_RESPONSE_BYTES - 2)}"`);
    });

    // Act
    const result = await callDownstream(baseUrl, { method: 'GET', path: '/invoices' }, PLENTY_OF_TIME_MS);

    // Assess
    expect(result).toHaveLength(MAX_RESPONSE_BYTES - 2);
  });

  it('times out a slow server within the remaining time less the safety margin, as TransientUpstreamError', async () => {
    // Prepare: the server never answers
    const { baseUrl } = await serve(() => {});
    const started = performance.now();

    // Act
    const error = await rejectionOf(callDownstream(baseUrl, { method: 'POST', path: '/invoices' }, 1300));

    // Assess
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(TransientUpstreamError);
    expect(error.message).toBe('POST invoices: timed out after 300 ms');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1300);
  });

  it('throws TransientUpstreamError when the server stalls in the middle of the response body', async () => {
    // Prepare: headers and the start of the body arrive, the rest never does
    const { baseUrl } = await serve((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"id":');
    });

    // Act
    const error = await rejectionOf(callDownstream(baseUrl, { method: 'POST', path: '/invoices' }, 1300));

    // Assess
    expect(error.name).toBe('TransientUpstreamError');
    expect(error).toBeInstanceOf(TransientUpstreamError);
  });

  it('throws TransientUpstreamError when the connection drops in the middle of the response body', async () => {
    // Prepare
    const { baseUrl } = await serve((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"id":', () => response.socket?.destroy());
    });

    // Act
    const error = await rejectionOf(
      callDownstream(baseUrl, { method: 'POST', path: '/invoices' }, PLENTY_OF_TIME_MS),
    );

    // Assess
    expect(error.name).toBe('TransientUpstreamError');
    expect(error).toBeInstanceOf(TransientUpstreamError);
  });

  it('throws TransientUpstreamError for a refused connection', async () => {
    // Prepare: a port that was just freed
    const closed = await startServer(() => {});
    await closed.close();

    // Act
    const error = await rejectionOf(
      callDownstream(closed.baseUrl, { method: 'POST', path: '/invoices' }, PLENTY_OF_TIME_MS),
    );

    // Assess
    expect(error).toBeInstanceOf(TransientUpstreamError);
    expect(error.message).toBe('POST invoices: network error');
  });

  it.each([1000, 999, 0, -5])(
    'throws TransientUpstreamError without sending anything when %i ms remain',
    async (remainingTimeMs) => {
      // Prepare
      const target = await serve((_, response) => json(response, 200, {}));

      // Act
      const error = await rejectionOf(
        callDownstream(target.baseUrl, { method: 'POST', path: '/invoices' }, remainingTimeMs),
      );

      // Assess
      expect(error).toBeInstanceOf(TransientUpstreamError);
      expect(error.message).toBe('no time left for the call');
      expect(target.requests).toHaveLength(0);
    },
  );

  it('names only the first path segment in its errors, never an email from the path', async () => {
    // Prepare
    const { baseUrl } = await serve((_, response) => json(response, 422, { error: 'invalid_request' }));

    // Act
    const error = await rejectionOf(
      callDownstream(
        baseUrl,
        { method: 'PUT', path: '/customers/ada%40example.com', body: {} },
        PLENTY_OF_TIME_MS,
      ),
    );

    // Assess
    expect(error.message).toBe('PUT customers: HTTP 422');
  });
});

describe('parseRetryAfter', () => {
  const NOW_MS = Date.parse('2026-11-21T12:00:00Z');

  it.each([
    ['delay-seconds', '7', 7],
    ['delay-seconds with spaces', ' 120 ', 120],
    ['zero', '0', 0],
    ['an HTTP date 90 s ahead', 'Sat, 21 Nov 2026 12:01:30 GMT', 90],
    ['an HTTP date in the past', 'Sat, 21 Nov 2026 11:00:00 GMT', 0],
  ])('reads %s', (_, value, expected) => {
    // Act
    const seconds = parseRetryAfter(value, NOW_MS);

    // Assess
    expect(seconds).toBe(expected);
  });

  it.each([
    ['null', null],
    ['empty', ''],
    ['garbage', 'soon'],
  ])('answers undefined for %s', (_, value) => {
    // Act
    const seconds = parseRetryAfter(value, NOW_MS);

    // Assess
    expect(seconds).toBeUndefined();
  });
});
