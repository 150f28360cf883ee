import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OrderPaid } from '../../functions/contracts.js';
import { LedgerEnvironment } from '../../functions/shared/ledger.js';
import { fakeConnectorTables } from './support/aws-clients.js';
import { dimensionSet, emittedMetrics } from './support/emf.js';
import { json, type Responder, startServer, type TestServer } from './support/http-server.js';
import { lambdaContext, sqsEvent, sqsRecord } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

const TRACE_HEADER = 'Root=1-6920b240-1b2c3d4e5f60718293a4b5c6;Parent=53995c3f42cd8ad8;Sampled=1';
const TRACE_ID = '1-6920b240-1b2c3d4e5f60718293a4b5c6';
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:OrderPaidFlow-abc';

const sfnMock = mockClient(SFNClient);
const sqsMock = mockClient(SQSClient);
const dynamoMock = mockClient(DynamoDBClient);

type BatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
type StepHandler = (input: unknown, context: Context) => Promise<unknown>;

/** Logger lines (not metric lines) written since the capture started. */
const logLines = (logs: CapturedLogs) => logs.entries().filter((entry) => 'level' in entry);

/** Environment every queue consumer and step shares: Powertools, the X-Ray trace, the ledger. */
function stubCommonEnv(service: string): void {
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', service);
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', service);
  vi.stubEnv('FLOW_NAME', 'order-paid');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Switchyard');
  vi.stubEnv('_X_AMZN_TRACE_ID', TRACE_HEADER);
  vi.stubEnv('REDELIVERY_BASE_SECONDS', '1');
  vi.stubEnv('REDELIVERY_CAP_SECONDS', '4');
  vi.stubEnv('MAX_RECEIVE_COUNT', '5');
  vi.stubEnv(LedgerEnvironment.tableName, 'switchyard-ledger');
  vi.stubEnv(LedgerEnvironment.retentionSeconds, '2592000');
}

let logs: CapturedLogs;

beforeEach(() => {
  sfnMock.reset();
  sqsMock.reset();
  dynamoMock.reset();
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  dynamoMock.on(BatchWriteItemCommand).resolves({});
  logs = captureLogs();
  vi.resetModules();
});

afterEach(() => {
  logs.restore();
  vi.unstubAllEnvs();
});

describe('flow starter metrics and correlation', () => {
  let handler: BatchHandler;
  let executionName: (detailType: string, eventKey: string) => string;

  const routed = (eventKey: string) =>
    sqsRecord(
      JSON.stringify({
        source: 'switchyard.stripe',
        'detail-type': 'order.paid',
        detail: { eventKey, orderId: 'order_1' },
      }),
    );

  beforeEach(async () => {
    stubCommonEnv('order-paid-starter');
    vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE);
    vi.stubEnv('QUEUE_URL', 'https://sqs.eu-west-1.amazonaws.com/123456789012/starts');
    ({ handler, executionName } = (await import('../../functions/flow-starter/handler.js')) as unknown as {
      handler: BatchHandler;
      executionName: typeof executionName;
    });
  });

  it('counts a started execution as FlowStarted under [service, flow]', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:x`, startDate: new Date() });

    // Act
    await handler(sqsEvent([routed('stripe:evt_1')]), lambdaContext());

    // Assess
    expect(emittedMetrics(logs, 'FlowStarted')).toEqual([
      {
        name: 'FlowStarted',
        unit: 'Count',
        value: 1,
        namespace: 'Switchyard',
        dimensionSets: [dimensionSet('service', 'flow')],
        dimensions: { service: 'order-paid-starter', flow: 'order-paid' },
      },
    ]);
    expect(emittedMetrics(logs, 'FlowStartDuplicate')).toEqual([]);
  });

  it('counts a start Step Functions refuses as already made as FlowStartDuplicate, and a failed one as neither', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand, { name: executionName('order.paid', 'stripe:evt_dup') })
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }))
      .on(StartExecutionCommand, { name: executionName('order.paid', 'stripe:evt_down') })
      .rejects(new Error('Step Functions is down'));

    // Act
    await handler(sqsEvent([routed('stripe:evt_dup'), routed('stripe:evt_down')]), lambdaContext());

    // Assess
    expect(emittedMetrics(logs, 'FlowStartDuplicate')).toEqual([
      expect.objectContaining({
        value: 1,
        dimensionSets: [dimensionSet('service', 'flow')],
        dimensions: { service: 'order-paid-starter', flow: 'order-paid' },
      }),
    ]);
    expect(emittedMetrics(logs, 'FlowStarted')).toEqual([]);
  });

  it('puts on every log line of a record its own event key and the X-Ray trace id, though records run at once', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const keys = ['stripe:evt_a', 'stripe:evt_b', 'shopify:9001'];

    // Act
    await handler(sqsEvent(keys.map(routed)), lambdaContext());

    // Assess
    const lines = logLines(logs).filter((line) => line.message === 'flow already started for this event');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const key = keys.find((candidate) => executionName('order.paid', candidate) === line.executionName);
      expect(line).toMatchObject({ eventKey: key, xray_trace_id: TRACE_ID });
    }
  });
});

describe('step metrics and correlation', () => {
  let server: TestServer;
  let respond: Responder;
  const EVENT_KEY = 'stripe:evt_1QxD8rLkdIwHu7ix6mQ0Zb3T';
  const order: OrderPaid = {
    eventKey: EVENT_KEY,
    orderId: 'order_1042',
    currency: 'eur',
    amountTotal: 4990,
    customer: { email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace' },
    paidAt: '2025-11-21T12:00:00.000Z',
  };

  beforeAll(async () => {
    server = await startServer((request, response) => respond(request, response));
  });
  afterAll(async () => {
    await server.close();
  });

  beforeEach(() => {
    server.requests.length = 0;
    respond = (_, response) => json(response, 201, { id: 'inv_42' });
    stubCommonEnv('order-paid-create-invoice');
    vi.stubEnv('DOWNSTREAM_BASE_URL', server.baseUrl);
    vi.stubEnv('IDEMPOTENCY_TABLE_NAME', 'switchyard-idempotency');
    vi.stubEnv('GUARD_TABLE_NAME', 'switchyard-guards');
    vi.stubEnv('DOWNSTREAM_GUARD', JSON.stringify({ system: 'accounting' }));
    fakeConnectorTables(dynamoMock);
  });

  async function createInvoice(): Promise<StepHandler> {
    return ((await import('../../functions/steps/create-invoice.js')) as unknown as { handler: StepHandler })
      .handler;
  }

  it('counts its call to the system as DownstreamCall and DownstreamLatency, without the service dimension', async () => {
    // Prepare
    const handler = await createInvoice();

    // Act
    await handler({ eventKey: EVENT_KEY, order }, lambdaContext());

    // Assess
    expect(server.requests).toHaveLength(1);
    expect(emittedMetrics(logs, 'DownstreamCall')).toEqual([
      expect.objectContaining({
        value: 1,
        dimensionSets: [dimensionSet('downstream', 'outcome')],
        dimensions: { downstream: 'accounting', outcome: 'ok' },
      }),
    ]);
    expect(emittedMetrics(logs, 'DownstreamLatency')).toEqual([
      expect.objectContaining({
        unit: 'Milliseconds',
        value: expect.any(Number),
        dimensionSets: [dimensionSet('downstream')],
        dimensions: { downstream: 'accounting' },
      }),
    ]);
  });

  it.each([
    ['terminal', 422],
    ['transient', 503],
  ])('counts a call answered with a %s status (%i) under that outcome', async (outcome, status) => {
    // Prepare
    respond = (_, response) => json(response, status, { error: 'no' });
    const handler = await createInvoice();

    // Act
    await handler({ eventKey: EVENT_KEY, order }, lambdaContext()).catch(() => undefined);

    // Assess
    expect(emittedMetrics(logs, 'DownstreamCall').map((metric) => metric.dimensions)).toEqual([
      { downstream: 'accounting', outcome },
    ]);
  });

  it('puts its event key, its step and the X-Ray trace id on every log line, including the guard’s', async () => {
    // Prepare: the guard's table fails, so the guard logs (and fails open) inside the step
    dynamoMock
      .on(GetItemCommand, { TableName: 'switchyard-guards' })
      .rejects(Object.assign(new Error('DynamoDB is down'), { name: 'InternalServerError' }));
    const handler = await createInvoice();

    // Act
    await handler({ eventKey: EVENT_KEY, order }, lambdaContext());

    // Assess
    const lines = logLines(logs);
    expect(lines.map((line) => line.message)).toContain('downstream guard state unavailable, failing open');
    expect(lines.filter((line) => line.eventKey !== EVENT_KEY || line.xray_trace_id !== TRACE_ID)).toEqual(
      [],
    );
    expect(lines.every((line) => line.step === 'create-invoice')).toBe(true);
  });
});

describe('email-sync correlation', () => {
  let server: TestServer;
  let handler: BatchHandler;

  const contactEvent = (eventKey: string, updatedAt: string) =>
    sqsRecord(
      JSON.stringify({
        source: 'switchyard.crm',
        'detail-type': 'contact.updated',
        detail: {
          eventKey,
          contactId: `ct_${eventKey.slice(-4)}`,
          email: 'katherine.johnson@example.com',
          firstName: 'Katherine',
          lastName: 'Johnson',
          updatedAt,
        },
      }),
    );

  beforeAll(async () => {
    server = await startServer((_, response) => json(response, 200, { status: 'subscribed' }));
  });
  afterAll(async () => {
    await server.close();
  });

  beforeEach(async () => {
    stubCommonEnv('switchyard-email-sync');
    vi.stubEnv('DOWNSTREAM_BASE_URL', server.baseUrl);
    vi.stubEnv('QUEUE_URL', 'https://sqs.eu-west-1.amazonaws.com/123456789012/email-sync');
    vi.stubEnv('IDEMPOTENCY_TABLE_NAME', 'switchyard-idempotency');
    vi.stubEnv('GUARD_TABLE_NAME', 'switchyard-guards');
    vi.stubEnv('DOWNSTREAM_GUARD', JSON.stringify({ system: 'email' }));
    vi.stubEnv('VERSIONS_TABLE_NAME', 'switchyard-versions');
    fakeConnectorTables(dynamoMock);
    ({ handler } = (await import('../../functions/email-sync/handler.js')) as unknown as {
      handler: BatchHandler;
    });
  });

  it('puts on every log line of a record its own event key and the X-Ray trace id, though records run at once', async () => {
    // Prepare: every contact has a newer version applied, so each record logs that it skipped its update
    dynamoMock
      .on(PutItemCommand, { TableName: 'switchyard-versions' })
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    const updates = {
      'crm:msg_0001': '2026-11-21T09:00:01.000Z',
      'crm:msg_0002': '2026-11-21T09:00:02.000Z',
      'crm:msg_0003': '2026-11-21T09:00:03.000Z',
    };

    // Act
    await handler(
      sqsEvent(Object.entries(updates).map(([key, updatedAt]) => contactEvent(key, updatedAt))),
      lambdaContext(),
    );

    // Assess
    const skipped = logLines(logs).filter((line) => String(line.message).startsWith('older than'));
    expect(Object.fromEntries(skipped.map((line) => [line.eventKey, line.updatedAt]))).toEqual(updates);
    expect(skipped.map((line) => line.xray_trace_id)).toEqual([TRACE_ID, TRACE_ID, TRACE_ID]);
  });

  it('counts its call to the email platform as DownstreamCall under downstream email', async () => {
    // Prepare
    dynamoMock.on(PutItemCommand, { TableName: 'switchyard-versions' }).resolves({});

    // Act
    await handler(sqsEvent([contactEvent('crm:msg_0009', '2026-11-21T09:00:09.000Z')]), lambdaContext());

    // Assess
    expect(emittedMetrics(logs, 'DownstreamCall').map((metric) => metric.dimensions)).toEqual([
      { downstream: 'email', outcome: 'ok' },
    ]);
  });
});
