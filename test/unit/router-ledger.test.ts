import { createHash } from 'node:crypto';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InboxEnvelope } from '../../functions/contracts.js';
import { completedItem, fakeIdempotencyTable } from './support/idempotency-table.js';
import { fixture, fixtureText, lambdaContext, sqsEvent, sqsRecord } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

const LEDGER_TABLE = 'switchyard-ledger';
const STRIPE_BODY = fixtureText('stripe/checkout.session.completed.json');
const EVENT_KEY = 'stripe:evt_1QxD8rLkdIwHu7ix6mQ0Zb3T';
const INGEST_TRACE = '1-691f9b40-0123456789abcdef01234567';

const dynamoMock = mockClient(DynamoDBClient);
const eventBridgeMock = mockClient(EventBridgeClient);
const sqsMock = mockClient(SQSClient);

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;
let handler: Handler;

function envelope(overrides: Partial<InboxEnvelope> = {}): string {
  return JSON.stringify({
    source: 'stripe',
    eventId: 'evt_1QxD8rLkdIwHu7ix6mQ0Zb3T',
    eventType: 'checkout.session.completed',
    receivedAt: '2025-11-21T12:00:01.000Z',
    bodySha256: createHash('sha256')
      .update(overrides.body ?? STRIPE_BODY)
      .digest('hex'),
    body: STRIPE_BODY,
    ...overrides,
  });
}

/** An inbox record sent by the ingest function in trace `INGEST_TRACE` (SQS's `AWSTraceHeader`). */
function inboxRecord(body: string, options: { messageId?: string; receiveCount?: number } = {}): SQSRecord {
  const record = sqsRecord(body, options);
  return {
    ...record,
    attributes: {
      ...record.attributes,
      AWSTraceHeader: `Root=${INGEST_TRACE};Parent=1a2b3c4d5e6f7a8b;Sampled=1`,
    },
  };
}

/** Every ledger item written so far, unmarshalled, in the order written. */
const ledgerItems = () =>
  dynamoMock
    .commandCalls(BatchWriteItemCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.[LEDGER_TABLE] ?? [])
    .map((request) => unmarshall(request.PutRequest?.Item ?? {}));

describe('router handler: event ledger', () => {
  let logs: CapturedLogs;

  beforeEach(async () => {
    vi.stubEnv('EVENT_BUS_NAME', 'switchyard-events');
    vi.stubEnv('QUEUE_URL', 'https://sqs.eu-west-1.amazonaws.com/123456789012/switchyard-inbox');
    vi.stubEnv('MAPPERS', JSON.stringify({ stripe: 'stripe' }));
    vi.stubEnv('IDEMPOTENCY_TABLE_NAME', 'switchyard-idempotency');
    vi.stubEnv('REDELIVERY_BASE_SECONDS', '2');
    vi.stubEnv('REDELIVERY_CAP_SECONDS', '60');
    vi.stubEnv('MAX_RECEIVE_COUNT', '5');
    vi.stubEnv('LEDGER_TABLE_NAME', LEDGER_TABLE);
    vi.stubEnv('LEDGER_RETENTION_SECONDS', '2592000');
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'switchyard-router');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'router');
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Switchyard');
    vi.stubEnv(
      '_X_AMZN_TRACE_ID',
      'Root=1-691f9b41-fedcba9876543210fedcba98;Parent=0011223344556677;Sampled=1',
    );
    dynamoMock.reset();
    eventBridgeMock.reset();
    sqsMock.reset();
    fakeIdempotencyTable(dynamoMock);
    dynamoMock.on(BatchWriteItemCommand).resolves({});
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    logs = captureLogs();
    vi.resetModules();
    ({ handler } = (await import('../../functions/router/handler.js')) as unknown as { handler: Handler });
  });

  afterEach(() => {
    logs.restore();
    vi.unstubAllEnvs();
  });

  it('records received at the ingest time, enqueued at the SQS send time, then routed, in the ingest trace', async () => {
    // Act
    await handler(sqsEvent([inboxRecord(envelope())]), lambdaContext('switchyard-router'));

    // Assess
    expect(ledgerItems()).toEqual([
      expect.objectContaining({
        pk: EVENT_KEY,
        sk: '2025-11-21T12:00:01.000Z#received',
        stage: 'received',
        source: 'stripe',
        eventType: 'checkout.session.completed',
        component: 'router',
        traceId: INGEST_TRACE,
      }),
      // sqsRecord's SentTimestamp, 1763726400000
      expect.objectContaining({
        pk: EVENT_KEY,
        sk: '2025-11-21T12:00:00.000Z#enqueued',
        traceId: INGEST_TRACE,
      }),
      expect.objectContaining({
        pk: EVENT_KEY,
        stage: 'routed',
        eventType: 'order.paid',
        traceId: '1-691f9b41-fedcba9876543210fedcba98',
      }),
    ]);
    expect(ledgerItems().some((item) => 'failureSource' in item)).toBe(false);
  });

  it('writes the ledger once per batch, after the records, with no body in any entry', async () => {
    // Act
    await handler(
      sqsEvent([inboxRecord(envelope()), inboxRecord(envelope({ eventId: 'evt_2' }))]),
      lambdaContext(),
    );

    // Assess
    expect(dynamoMock.commandCalls(BatchWriteItemCommand)).toHaveLength(1);
    expect(ledgerItems()).toHaveLength(6);
    expect(JSON.stringify(ledgerItems())).not.toContain('order_1042');
  });

  it('records duplicate, not routed, for a redelivery answered from its COMPLETED record', async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: completedItem(
          'switchyard-router#x',
          { detailType: 'order.paid' },
          {
            validation: createHash('md5')
              .update(JSON.stringify(JSON.parse(envelope()).bodySha256))
              .digest('base64'),
          },
        ),
      }),
    );

    // Act
    const response = await handler(sqsEvent([inboxRecord(envelope())]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(ledgerItems().map((item) => item.stage)).toEqual(['received', 'enqueued', 'duplicate']);
    expect(ledgerItems()[2]).toMatchObject({
      eventType: 'checkout.session.completed',
      details: { detailType: 'order.paid' },
    });
  });

  it('records a vendor retry of a routed event as received again, then duplicate', async () => {
    // Prepare
    await handler(sqsEvent([inboxRecord(envelope())]), lambdaContext());

    // Act
    await handler(
      sqsEvent([inboxRecord(envelope({ receivedAt: '2025-11-21T12:05:00.000Z' }))]),
      lambdaContext(),
    );

    // Assess
    expect(ledgerItems().map((item) => `${item.at.slice(11, 19)} ${item.stage}`)).toEqual([
      '12:00:01 received',
      '12:00:00 enqueued',
      expect.stringMatching(/ routed$/),
      '12:05:00 received',
      '12:00:00 enqueued',
      expect.stringMatching(/ duplicate$/),
    ]);
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('records unrouted for an event type no route takes', async () => {
    // Act
    await handler(
      sqsEvent([
        inboxRecord(envelope({ eventId: 'evt_pi', eventType: 'payment_intent.succeeded', body: '{}' })),
      ]),
      lambdaContext(),
    );

    // Assess
    expect(ledgerItems().at(-1)).toMatchObject({
      pk: 'stripe:evt_pi',
      stage: 'unrouted',
      eventType: 'payment_intent.succeeded',
    });
  });

  it.each([
    [4, ['received', 'enqueued']],
    [5, ['received', 'enqueued', 'dead-lettered']],
  ])('on a failure at receive %i of 5, records %j', async (receiveCount, stages) => {
    // Prepare: a checkout without the customer email the canonical event needs (MappingError)
    const payload = fixture<{ data: { object: { customer_details: Record<string, unknown> } } }>(
      'stripe/checkout.session.completed.json',
    );
    delete payload.data.object.customer_details.email;
    const body = JSON.stringify(payload);

    // Act
    const response = await handler(
      sqsEvent([
        inboxRecord(envelope({ eventId: 'evt_poison', body }), { messageId: 'poison', receiveCount }),
      ]),
      lambdaContext(),
    );

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'poison' }]);
    expect(ledgerItems().map((item) => item.stage)).toEqual(stages);
    if (receiveCount === 5) {
      expect(ledgerItems()[2]).toMatchObject({
        pk: 'stripe:evt_poison',
        failureSource: 'stripe',
        details: { queue: 'inbox', errorName: 'MappingError', receiveCount: 5 },
      });
    }
  });

  it('routes and acknowledges the batch when the ledger cannot be written', async () => {
    // Prepare
    dynamoMock.on(BatchWriteItemCommand).rejects(new InternalServerError({ message: 'down', $metadata: {} }));

    // Act
    const response = await handler(sqsEvent([inboxRecord(envelope())]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(1);
    expect(logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'ledger entries not written',
        errorName: 'InternalServerError',
      }),
    );
    expect(logs.text()).toMatch(/"LedgerWriteFailed"/);
  });
});
