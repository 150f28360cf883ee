import { createHash } from 'node:crypto';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeRouterClients } from './support/aws-clients.js';
import { dimensionSet, emittedMetrics } from './support/emf.js';
import { loadRouterHandler, type RouterHandler, stubRouterEnv } from './support/handler-env.js';
import { completedItem } from './support/idempotency-table.js';
import { fixtureText, inboxEnvelope, lambdaContext, sqsEvent, sqsRecord } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

const SERVICE = 'switchyard-router';
const STRIPE_BODY = fixtureText('stripe/checkout.session.completed.json');
const TRACE_HEADER = 'Root=1-6920b240-0a1b2c3d4e5f60718293a4b5;Parent=53995c3f42cd8ad8;Sampled=1';
const TRACE_ID = '1-6920b240-0a1b2c3d4e5f60718293a4b5';

const dynamoMock = mockClient(DynamoDBClient);
const eventBridgeMock = mockClient(EventBridgeClient);
const sqsMock = mockClient(SQSClient);

let handler: RouterHandler;

/** An event of a type no mapper routes. */
const unrouted = (eventId: string, eventType = 'payment_intent.succeeded') =>
  inboxEnvelope({ eventId, eventType, body: `{"id":"${eventId}"}` });

/** Makes PutEvents refuse the events whose detail contains `marker`. */
function refusePutEventsOf(marker: string): void {
  eventBridgeMock
    .on(PutEventsCommand)
    .callsFake((input: { Entries: PutEventsRequestEntry[] }) =>
      input.Entries[0]?.Detail?.includes(marker)
        ? { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] }
        : { FailedEntryCount: 0, Entries: [{ EventId: 'e-ok' }] },
    );
}

describe('router metrics and correlation', () => {
  let logs: CapturedLogs;

  beforeEach(async () => {
    stubRouterEnv({
      AWS_LAMBDA_FUNCTION_NAME: SERVICE,
      POWERTOOLS_SERVICE_NAME: SERVICE,
      _X_AMZN_TRACE_ID: TRACE_HEADER,
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

  it('counts a routed event as EventRouted under its source and vendor event type', async () => {
    // Act
    const response = await handler(sqsEvent([sqsRecord(inboxEnvelope())]), lambdaContext(SERVICE));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(emittedMetrics(logs, 'EventRouted')).toEqual([
      {
        name: 'EventRouted',
        unit: 'Count',
        value: 1,
        namespace: 'Switchyard',
        dimensionSets: [dimensionSet('service', 'source', 'eventType')],
        dimensions: { service: SERVICE, source: 'stripe', eventType: 'checkout.session.completed' },
      },
    ]);
    expect(emittedMetrics(logs, 'EventUnrouted')).toEqual([]);
    expect(emittedMetrics(logs, 'DuplicateDropped')).toEqual([]);
  });

  it('counts an event no route takes as EventUnrouted, not as routed', async () => {
    // Act
    await handler(sqsEvent([sqsRecord(unrouted('evt_pi'))]), lambdaContext(SERVICE));

    // Assess
    expect(emittedMetrics(logs, 'EventUnrouted')).toEqual([
      expect.objectContaining({
        value: 1,
        dimensionSets: [dimensionSet('service', 'source', 'eventType')],
        dimensions: { service: SERVICE, source: 'stripe', eventType: 'payment_intent.succeeded' },
      }),
    ]);
    expect(emittedMetrics(logs, 'EventRouted')).toEqual([]);
  });

  it('counts a redelivery in a later batch as DuplicateDropped, and only it', async () => {
    // Prepare
    await handler(sqsEvent([sqsRecord(inboxEnvelope())]), lambdaContext(SERVICE));
    logs.clear();
    eventBridgeMock.resetHistory();

    // Act
    const response = await handler(
      sqsEvent([sqsRecord(inboxEnvelope()), sqsRecord(inboxEnvelope({ eventId: 'evt_new' }))]),
      lambdaContext(SERVICE),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(1);
    expect(emittedMetrics(logs, 'DuplicateDropped')).toEqual([
      {
        name: 'DuplicateDropped',
        unit: 'Count',
        value: 1,
        namespace: 'Switchyard',
        dimensionSets: [dimensionSet('service', 'source', 'eventType')],
        dimensions: { service: SERVICE, source: 'stripe', eventType: 'checkout.session.completed' },
      },
    ]);
    expect(emittedMetrics(logs, 'EventRouted')).toHaveLength(1);
  });

  it('counts an event whose COMPLETED record another instance wrote as DuplicateDropped', async () => {
    // Prepare: the record as Powertools stores it, with the validation hash of the same body
    const bodySha256 = JSON.parse(inboxEnvelope()).bodySha256 as string;
    dynamoMock.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: completedItem(
          `${SERVICE}#x`,
          { detailType: 'order.paid' },
          { validation: createHash('md5').update(JSON.stringify(bodySha256)).digest('base64') },
        ),
      }),
    );

    // Act
    const response = await handler(sqsEvent([sqsRecord(inboxEnvelope())]), lambdaContext(SERVICE));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(emittedMetrics(logs, 'DuplicateDropped')).toHaveLength(1);
    expect(emittedMetrics(logs, 'EventRouted')).toEqual([]);
  });

  it('counts neither a routed event nor a duplicate for a record that fails', async () => {
    // Prepare
    refusePutEventsOf('order_1042');

    // Act
    const response = await handler(
      sqsEvent([sqsRecord(inboxEnvelope(), { messageId: 'm-1' })]),
      lambdaContext(),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(emittedMetrics(logs, 'EventRouted')).toEqual([]);
    expect(emittedMetrics(logs, 'DuplicateDropped')).toEqual([]);
  });

  it('puts on every log line of a record its own event key and the X-Ray trace id, though records run at once', async () => {
    // Prepare: records that log at different points, after different numbers of awaits
    refusePutEventsOf('order_refused');
    await handler(sqsEvent([sqsRecord(inboxEnvelope({ eventId: 'evt_seen' }))]), lambdaContext(SERVICE));
    logs.clear();
    const records = [
      sqsRecord(unrouted('evt_unrouted')),
      sqsRecord(
        inboxEnvelope({
          eventId: 'evt_refused',
          body: STRIPE_BODY.replace('"order_1042"', '"order_refused"'),
        }),
      ),
      sqsRecord(inboxEnvelope({ eventId: 'evt_seen' })),
      sqsRecord(unrouted('evt_unrouted_2', 'charge.refunded')),
    ];

    // Act
    await handler(sqsEvent(records), lambdaContext(SERVICE));

    // Assess
    const lines = logs.entries().filter((entry) => 'level' in entry);
    const keyOf = (message: string, eventId: string) =>
      lines.filter((line) => line.message === message && JSON.stringify(line).includes(eventId));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(
      lines.map((line) => line.xray_trace_id),
      'every line carries the trace id',
    ).toEqual(lines.map(() => TRACE_ID));
    const unroutedLines = lines.filter(
      (line) => line.message === 'event type has no route; kept as webhook.unrouted',
    );
    expect(
      Object.fromEntries(unroutedLines.map((line) => [line.eventType, line.eventKey])),
      'each line of an unrouted event names that event',
    ).toEqual({
      'payment_intent.succeeded': 'stripe:evt_unrouted',
      'charge.refunded': 'stripe:evt_unrouted_2',
    });
    expect(keyOf('record failed', 'evt_refused').map((line) => line.eventKey)).toEqual([
      'stripe:evt_refused',
    ]);
    expect(
      lines
        .filter((line) => String(line.message).startsWith('duplicate dropped'))
        .map((line) => line.eventKey),
    ).toEqual(['stripe:evt_seen']);
    const recordLines = lines.filter((line) => line.message !== 'ledger entries not written');
    expect(recordLines.filter((line) => typeof line.eventKey !== 'string')).toEqual([]);
  });
});
