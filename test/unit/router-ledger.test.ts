import { createHash } from 'node:crypto';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeRouterClients } from './support/aws-clients.js';
import { loadRouterHandler, type RouterHandler, stubRouterEnv } from './support/handler-env.js';
import { completedItem } from './support/idempotency-table.js';
import { fixture, inboxEnvelope, lambdaContext, sqsEvent, sqsRecord } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

const LEDGER_TABLE = 'switchyard-ledger';
const EVENT_KEY = 'stripe:evt_1QxD8rLkdIwHu7ix6mQ0Zb3T';
const INGEST_TRACE = '1-691f9b40-0123456789abcdef01234567';

const dynamoMock = mockClient(DynamoDBClient);
const eventBridgeMock = mockClient(EventBridgeClient);
const sqsMock = mockClient(SQSClient);

let handler: RouterHandler;

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
    stubRouterEnv({
      LEDGER_TABLE_NAME: LEDGER_TABLE,
      POWERTOOLS_SERVICE_NAME: 'router',
      _X_AMZN_TRACE_ID: 'Root=1-691f9b41-fedcba9876543210fedcba98;Parent=0011223344556677;Sampled=1',
    });
    fakeRouterClients({ dynamodb: dynamoMock, eventBridge: eventBridgeMock, sqs: sqsMock });
    dynamoMock.on(BatchWriteItemCommand).resolves({});
    logs = captureLogs();
    handler = await loadRouterHandler();
  });

  afterEach(() => {
    logs.restore();
    vi.unstubAllEnvs();
  });

  it('records received at the ingest time, enqueued at the SQS send time, then routed, in the ingest trace', async () => {
    // Act
    await handler(sqsEvent([inboxRecord(inboxEnvelope())]), lambdaContext('switchyard-router'));

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
      sqsEvent([inboxRecord(inboxEnvelope()), inboxRecord(inboxEnvelope({ eventId: 'evt_2' }))]),
      lambdaContext(),
    );

    // Assess
    expect(dynamoMock.commandCalls(BatchWriteItemCommand)).toHaveLength(1);
    expect(ledgerItems()).toHaveLength(6);
    expect(JSON.stringify(ledgerItems())).not.toContain('order_1042');
  });

  it('times routed when the event is put on the bus, not when the batch ledger is written', async () => {
    // Prepare: of two records routed together, the second takes 200 ms to put on the bus
    eventBridgeMock.on(PutEventsCommand).callsFake(async (input: { Entries?: { Detail?: string }[] }) => {
      if (input.Entries?.[0]?.Detail?.includes('evt_slow')) await new Promise((r) => setTimeout(r, 200));
      return { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] };
    });
    const started = Date.now();

    // Act
    await handler(
      sqsEvent([inboxRecord(inboxEnvelope()), inboxRecord(inboxEnvelope({ eventId: 'evt_slow' }))]),
      lambdaContext(),
    );

    // Assess: each routed time is when its record was put on the bus (before the call, which a target may
    // outrun), well before the batch (and its ledger write) ended
    const ended = Date.now();
    const routed = ledgerItems().filter((item) => item.stage === 'routed');
    const routedAt = (key: string) => Date.parse(String(routed.find((item) => item.pk === key)?.at));
    expect(ended - started).toBeGreaterThanOrEqual(200);
    expect(routedAt(EVENT_KEY) - started).toBeLessThan(150);
    expect(routedAt('stripe:evt_slow') - started).toBeLessThan(150);
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
              .update(JSON.stringify(JSON.parse(inboxEnvelope()).bodySha256))
              .digest('base64'),
          },
        ),
      }),
    );

    // Act
    const response = await handler(sqsEvent([inboxRecord(inboxEnvelope())]), lambdaContext());

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
    await handler(sqsEvent([inboxRecord(inboxEnvelope())]), lambdaContext());

    // Act
    await handler(
      sqsEvent([inboxRecord(inboxEnvelope({ receivedAt: '2025-11-21T12:05:00.000Z' }))]),
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
        inboxRecord(inboxEnvelope({ eventId: 'evt_pi', eventType: 'payment_intent.succeeded', body: '{}' })),
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
        inboxRecord(inboxEnvelope({ eventId: 'evt_poison', body }), { messageId: 'poison', receiveCount }),
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
    const response = await handler(sqsEvent([inboxRecord(inboxEnvelope())]), lambdaContext());

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
