import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CallContext } from '../../functions/connectors/systems.js';
import type { OrderPaid } from '../../functions/contracts.js';
import { fakeConnectorTables } from './support/aws-clients.js';
import { stubStepEnv } from './support/handler-env.js';
import { json, type Responder, startServer, type TestServer } from './support/http-server.js';
import { completedItem, type IdempotencyTable } from './support/idempotency-table.js';
import { lambdaContext } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

const dynamoMock = mockClient(DynamoDBClient);

type StepHandler<I, O = unknown> = (input: I, context: Context) => Promise<O>;

const EVENT_KEY = 'stripe:evt_1QxD8rLkdIwHu7ix6mQ0Zb3T';
const order: OrderPaid = {
  eventKey: EVENT_KEY,
  orderId: 'order_1042',
  currency: 'eur',
  amountTotal: 4990,
  customer: { email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace' },
  paidAt: '2025-11-21T12:00:00.000Z',
};

/** The error a promise rejects with (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the step to fail, but it succeeded');
}

describe('step handlers', () => {
  let server: TestServer;
  let respond: Responder;
  let table: IdempotencyTable;
  let logs: CapturedLogs;

  beforeAll(async () => {
    server = await startServer((request, response) => respond(request, response));
  });
  afterAll(async () => {
    await server.close();
  });

  beforeEach(() => {
    server.requests.length = 0;
    respond = (request, response) =>
      request.path === '/invoices'
        ? json(response, 201, { id: 'inv_42', status: 'open' })
        : json(response, 200, {});
    stubStepEnv({ DOWNSTREAM_BASE_URL: server.baseUrl, POWERTOOLS_SERVICE_NAME: 'order-paid' });
    dynamoMock.reset();
    table = fakeConnectorTables(dynamoMock);
    logs = captureLogs();
    vi.resetModules();
  });

  afterEach(() => {
    logs.restore();
    vi.unstubAllEnvs();
  });

  describe('defineStep', () => {
    /** A step that posts its input to `/things` and returns the downstream's answer. */
    async function thingStep() {
      vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'switchyard-thing');
      const { defineStep } = await import('../../functions/steps/step.js');
      const { callDownstream } = await import('../../functions/connectors/http.js');
      const calls: CallContext[] = [];
      const handler = defineStep('make-thing', async (input: { eventKey: string; size: number }, call) => {
        calls.push(call);
        const answer = await callDownstream(
          call.baseUrl,
          {
            method: 'POST',
            path: '/things',
            body: { size: input.size },
            idempotencyKey: call.idempotencyKey,
          },
          call.remainingTimeMs,
        );
        return { answer };
      });
      return { handler: handler as unknown as StepHandler<{ eventKey: string; size?: number }>, calls };
    }

    it('calls the connector once with an Idempotency-Key of <event key>:<step> and stores the result', async () => {
      // Prepare
      respond = (_, response) => json(response, 201, { id: 'thing_1' });
      const { handler, calls } = await thingStep();

      // Act
      const result = await handler(
        { eventKey: EVENT_KEY, size: 3 },
        lambdaContext('switchyard-thing', 12_000),
      );

      // Assess
      expect(result).toEqual({ answer: { id: 'thing_1' } });
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.headers['idempotency-key']).toBe(`${EVENT_KEY}:make-thing`);
      // The time left is what the invocation had, less what the guard's state lookup took
      expect(calls).toEqual([
        {
          baseUrl: server.baseUrl,
          remainingTimeMs: expect.toSatisfy((ms: number) => ms <= 12_000 && ms > 11_000),
          idempotencyKey: `${EVENT_KEY}:make-thing`,
        },
      ]);
      expect(table.records()).toMatchObject([{ status: 'COMPLETED', data: { answer: { id: 'thing_1' } } }]);
    });

    it('returns the stored result without calling the system when the same event key runs again', async () => {
      // Prepare
      let created = 0;
      respond = (_, response) => {
        created += 1;
        json(response, 201, { id: `thing_${created}` });
      };
      const { handler } = await thingStep();
      const first = await handler({ eventKey: EVENT_KEY, size: 3 }, lambdaContext());

      // Act
      const second = await handler({ eventKey: EVENT_KEY, size: 3 }, lambdaContext());

      // Assess
      expect(second).toEqual(first);
      expect(second).toEqual({ answer: { id: 'thing_1' } });
      expect(server.requests).toHaveLength(1);
    });

    it('returns a COMPLETED record found in the table without calling the system', async () => {
      // Prepare
      dynamoMock.on(PutItemCommand).rejects(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          Item: completedItem('switchyard-thing#x', { answer: { id: 'thing_from_yesterday' } }),
        }),
      );
      const { handler } = await thingStep();

      // Act
      const result = await handler({ eventKey: EVENT_KEY, size: 3 }, lambdaContext());

      // Assess
      expect(result).toEqual({ answer: { id: 'thing_from_yesterday' } });
      expect(server.requests).toHaveLength(0);
    });

    it('fails with IdempotencyAlreadyInProgressError, a retryable name, while another run holds the key', async () => {
      // Prepare
      dynamoMock.on(PutItemCommand).rejects(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          Item: marshall({
            id: 'switchyard-thing#x',
            status: 'INPROGRESS',
            expiration: Math.floor(Date.now() / 1000) + 3600,
            in_progress_expiration: Date.now() + 60_000,
          }),
        }),
      );
      const { handler } = await thingStep();

      // Act
      const error = await rejectionOf(handler({ eventKey: EVENT_KEY, size: 3 }, lambdaContext()));

      // Assess
      expect(error.name).toBe('IdempotencyAlreadyInProgressError');
      expect(server.requests).toHaveLength(0);
    });

    it('passes a TransientUpstreamError on by name and lets a retry call the system again', async () => {
      // Prepare
      respond = (_, response) => json(response, 503, { error: 'maintenance' }, { 'Retry-After': '5' });
      const { handler } = await thingStep();

      // Act
      const error = await rejectionOf(handler({ eventKey: EVENT_KEY, size: 3 }, lambdaContext()));
      respond = (_, response) => json(response, 201, { id: 'thing_retry' });
      const retried = await handler({ eventKey: EVENT_KEY, size: 3 }, lambdaContext());

      // Assess
      expect(error.name).toBe('TransientUpstreamError');
      expect(retried).toEqual({ answer: { id: 'thing_retry' } });
      expect(server.requests).toHaveLength(2);
    });

    it('refuses an input without an event key before calling the system', async () => {
      // Prepare
      const { handler } = await thingStep();

      // Act
      const error = await rejectionOf(
        handler({ size: 3 } as unknown as { eventKey: string }, lambdaContext()),
      );

      // Assess
      expect(error.name).toMatch(/^Idempotency/);
      expect(server.requests).toHaveLength(0);
    });

    it.each(['DOWNSTREAM_BASE_URL', 'IDEMPOTENCY_TABLE_NAME'])(
      'fails fast when %s is not set',
      async (name) => {
        // Prepare
        const { defineStep } = await import('../../functions/steps/step.js');
        vi.stubEnv(name, '');

        // Act
        const define = () => defineStep('x', async () => ({}));

        // Assess
        expect(define).toThrow(`environment variable ${name} is not set`);
      },
    );
  });

  describe('create-invoice', () => {
    it('creates the invoice of the order and returns its id', async () => {
      // Prepare
      vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'switchyard-create-invoice');
      const { handler } = await import('../../functions/steps/create-invoice.js');

      // Act
      const result = await (handler as unknown as StepHandler<unknown>)(
        { eventKey: EVENT_KEY, order },
        lambdaContext(),
      );

      // Assess
      expect(result).toEqual({ invoiceId: 'inv_42' });
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]).toMatchObject({
        method: 'POST',
        path: '/invoices',
        headers: { 'idempotency-key': `${EVENT_KEY}:create-invoice` },
      });
      expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({
        orderId: 'order_1042',
        customerEmail: 'ada.lovelace@example.com',
        currency: 'eur',
        amountTotal: 4990,
      });
    });

    it('fails, and stores nothing, when accounting answers without an invoice id', async () => {
      // Prepare
      respond = (_, response) => json(response, 201, { status: 'open' });
      vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'switchyard-create-invoice');
      const { handler } = await import('../../functions/steps/create-invoice.js');

      // Act
      const error = await rejectionOf(
        (handler as unknown as StepHandler<unknown>)({ eventKey: EVENT_KEY, order }, lambdaContext()),
      );

      // Assess
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe('accounting answered without an invoice id');
      expect(table.items.size).toBe(0);
    });
  });

  describe('update-customer', () => {
    it('upserts the paying customer under the URL-encoded email', async () => {
      // Prepare
      vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'switchyard-update-customer');
      const { handler } = await import('../../functions/steps/update-customer.js');

      // Act
      const result = await (handler as unknown as StepHandler<unknown>)(
        { eventKey: EVENT_KEY, order },
        lambdaContext(),
      );

      // Assess
      expect(result).toEqual({ updated: true });
      expect(server.requests[0]).toMatchObject({
        method: 'PUT',
        path: '/customers/ada.lovelace%40example.com',
        headers: { 'idempotency-key': `${EVENT_KEY}:update-customer` },
      });
      expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({
        email: 'ada.lovelace@example.com',
        firstName: 'Ada',
        lastName: 'Lovelace',
        lastOrderId: 'order_1042',
      });
    });
  });

  describe('send-receipt', () => {
    it('sends the receipt of the order and invoice', async () => {
      // Prepare
      vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'switchyard-send-receipt');
      const { handler } = await import('../../functions/steps/send-receipt.js');

      // Act
      const result = await (handler as unknown as StepHandler<unknown>)(
        { eventKey: EVENT_KEY, order, invoiceId: 'inv_42' },
        lambdaContext(),
      );

      // Assess
      expect(result).toEqual({ sent: true });
      expect(server.requests[0]).toMatchObject({
        method: 'POST',
        path: '/messages',
        headers: { 'idempotency-key': `${EVENT_KEY}:send-receipt` },
      });
      expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({
        to: 'ada.lovelace@example.com',
        template: 'receipt',
        data: { orderId: 'order_1042', invoiceId: 'inv_42', amountTotal: 4990, currency: 'eur' },
      });
    });
  });

  describe('void-invoice', () => {
    it('voids the invoice, URL-encoding its id', async () => {
      // Prepare
      vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'switchyard-void-invoice');
      const { handler } = await import('../../functions/steps/void-invoice.js');

      // Act
      const result = await (handler as unknown as StepHandler<unknown>)(
        { eventKey: EVENT_KEY, invoiceId: 'inv/42 a' },
        lambdaContext(),
      );

      // Assess
      expect(result).toEqual({ voided: true });
      expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
        'POST /invoices/inv%2F42%20a/void',
      ]);
      expect(server.requests[0]?.headers['idempotency-key']).toBe(`${EVENT_KEY}:void-invoice`);
    });
  });
});
