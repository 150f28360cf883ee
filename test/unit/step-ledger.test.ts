import { BatchWriteItemCommand, DynamoDBClient, InternalServerError } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OrderPaid } from '../../functions/contracts.js';
import { fakeConnectorTables } from './support/aws-clients.js';
import { stubStepEnv } from './support/handler-env.js';
import { json, type Responder, startServer, type TestServer } from './support/http-server.js';
import { lambdaContext } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

const LEDGER_TABLE = 'switchyard-ledger';
const EVENT_KEY = 'stripe:evt_1QxD8rLkdIwHu7ix6mQ0Zb3T';
const order: OrderPaid = {
  eventKey: EVENT_KEY,
  orderId: 'order_1042',
  currency: 'eur',
  amountTotal: 4990,
  customer: { email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace' },
  paidAt: '2025-11-21T12:00:00.000Z',
};

const dynamoMock = mockClient(DynamoDBClient);
type StepHandler = (input: unknown, context: Context) => Promise<unknown>;

const ledgerItems = () =>
  dynamoMock
    .commandCalls(BatchWriteItemCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.[LEDGER_TABLE] ?? [])
    .map((request) => unmarshall(request.PutRequest?.Item ?? {}));

const steps = {
  'create-invoice': () => import('../../functions/steps/create-invoice.js'),
  'update-customer': () => import('../../functions/steps/update-customer.js'),
  'send-receipt': () => import('../../functions/steps/send-receipt.js'),
  'void-invoice': () => import('../../functions/steps/void-invoice.js'),
};

/** The handler of a step (functions/steps/<step>.ts), loaded afresh. */
async function stepHandler(step: keyof typeof steps): Promise<StepHandler> {
  vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', `switchyard-${step}`);
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', `order-paid-${step}`);
  const { handler } = await steps[step]();
  return handler as unknown as StepHandler;
}

describe('step handlers: event ledger', () => {
  let server: TestServer;
  let respond: Responder;
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
      request.path === '/invoices' ? json(response, 201, { id: 'inv_42' }) : json(response, 200, {});
    stubStepEnv({ DOWNSTREAM_BASE_URL: server.baseUrl, LEDGER_TABLE_NAME: LEDGER_TABLE });
    dynamoMock.reset();
    fakeConnectorTables(dynamoMock);
    dynamoMock.on(BatchWriteItemCommand).resolves({});
    logs = captureLogs();
    vi.resetModules();
  });

  afterEach(() => {
    logs.restore();
    vi.unstubAllEnvs();
  });

  it('records step-succeeded under the step name after the system answered', async () => {
    // Prepare
    const handler = await stepHandler('create-invoice');

    // Act
    const result = await handler({ eventKey: EVENT_KEY, order }, lambdaContext());

    // Assess
    expect(result).toEqual({ invoiceId: 'inv_42' });
    expect(ledgerItems()).toEqual([
      expect.objectContaining({
        pk: EVENT_KEY,
        sk: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#step-succeeded#create-invoice$/),
        stage: 'step-succeeded',
        source: 'stripe',
        component: 'order-paid-create-invoice',
        details: { step: 'create-invoice' },
      }),
    ]);
  });

  it('records step-failed with the error name, and still fails the step so Step Functions retries it', async () => {
    // Prepare
    respond = (_, response) => json(response, 503, { error: 'maintenance' });
    const handler = await stepHandler('update-customer');

    // Act
    const outcome = handler({ eventKey: EVENT_KEY, order }, lambdaContext());

    // Assess
    await expect(outcome).rejects.toMatchObject({ name: 'TransientUpstreamError' });
    expect(ledgerItems()).toEqual([
      expect.objectContaining({
        stage: 'step-failed',
        failureSource: 'stripe',
        details: { step: 'update-customer', errorName: 'TransientUpstreamError' },
      }),
    ]);
  });

  it('marks a step answered from its stored result as replayed', async () => {
    // Prepare
    const handler = await stepHandler('send-receipt');
    await handler({ eventKey: EVENT_KEY, order, invoiceId: 'inv_42' }, lambdaContext());

    // Act
    await handler({ eventKey: EVENT_KEY, order, invoiceId: 'inv_42' }, lambdaContext());

    // Assess
    expect(server.requests).toHaveLength(1);
    expect(ledgerItems().map((item) => item.details)).toEqual([
      { step: 'send-receipt' },
      { step: 'send-receipt', replayed: true },
    ]);
  });

  it('records the outcome of a compensation step too', async () => {
    // Prepare
    const handler = await stepHandler('void-invoice');

    // Act
    await handler({ eventKey: EVENT_KEY, invoiceId: 'inv_42' }, lambdaContext());

    // Assess
    expect(ledgerItems()).toEqual([
      expect.objectContaining({ stage: 'step-succeeded', details: { step: 'void-invoice' } }),
    ]);
  });

  it('returns the step result when the ledger cannot be written', async () => {
    // Prepare
    dynamoMock.on(BatchWriteItemCommand).rejects(new InternalServerError({ message: 'down', $metadata: {} }));
    const handler = await stepHandler('create-invoice');

    // Act
    const result = await handler({ eventKey: EVENT_KEY, order }, lambdaContext());

    // Assess
    expect(result).toEqual({ invoiceId: 'inv_42' });
    expect(server.requests).toHaveLength(1);
  });

  it('writes nothing for an input without an event key', async () => {
    // Prepare
    const handler = await stepHandler('create-invoice');

    // Act
    const outcome = handler({ order }, lambdaContext());

    // Assess
    await expect(outcome).rejects.toMatchObject({ name: expect.stringMatching(/^Idempotency/) });
    expect(dynamoMock.commandCalls(BatchWriteItemCommand)).toHaveLength(0);
  });
});
