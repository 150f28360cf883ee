import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeRouterClients } from './support/aws-clients.js';
import { loadRouterHandler, type RouterHandler, stubRouterEnv } from './support/handler-env.js';
import { completedItem, type IdempotencyTable } from './support/idempotency-table.js';
import { fixture, fixtureText, inboxEnvelope, lambdaContext, sqsEvent, sqsRecord } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

const BUS_NAME = 'switchyard-events';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/switchyard-inbox';
const STRIPE_BODY = fixtureText('stripe/checkout.session.completed.json');

const dynamoMock = mockClient(DynamoDBClient);
const eventBridgeMock = mockClient(EventBridgeClient);
const sqsMock = mockClient(SQSClient);

let handler: RouterHandler;
let table: IdempotencyTable;

const published = (): PutEventsRequestEntry[] =>
  eventBridgeMock.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);

const visibilityChanges = () =>
  sqsMock
    .commandCalls(ChangeMessageVisibilityBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? []);

describe('router handler', () => {
  let logs: CapturedLogs;

  beforeEach(async () => {
    stubRouterEnv({
      EVENT_BUS_NAME: BUS_NAME,
      QUEUE_URL,
      MAPPERS: JSON.stringify({ stripe: 'stripe', shopify: 'shopify', github: 'github', crm: 'crm' }),
    });
    table = fakeRouterClients({ dynamodb: dynamoMock, eventBridge: eventBridgeMock, sqs: sqsMock });
    logs = captureLogs();
    handler = await loadRouterHandler();
  });

  afterEach(() => {
    logs.restore();
    vi.unstubAllEnvs();
  });

  it('publishes one canonical event for a good record and reports no failure', async () => {
    // Prepare
    const record = sqsRecord(inboxEnvelope());

    // Act
    const response = await handler(sqsEvent([record]), lambdaContext('switchyard-router'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const entries = published();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      EventBusName: BUS_NAME,
      Source: 'switchyard.stripe',
      DetailType: 'order.paid',
    });
    expect(JSON.parse(entries[0]?.Detail ?? '')).toEqual({
      eventKey: 'stripe:evt_1QxD8rLkdIwHu7ix6mQ0Zb3T',
      orderId: 'order_1042',
      currency: 'eur',
      amountTotal: 4990,
      customer: { email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace' },
      paidAt: '2025-11-21T12:00:00.000Z',
    });
    expect(visibilityChanges()).toHaveLength(0);
    expect(table.records()).toMatchObject([{ status: 'COMPLETED', data: { detailType: 'order.paid' } }]);
  });

  it('reports only the malformed record, by its message id, and backs it off', async () => {
    // Prepare
    const good = sqsRecord(inboxEnvelope(), { messageId: 'good-1' });
    const notJson = sqsRecord('{"source":', { messageId: 'bad-json', receiveCount: 3 });
    const notEnvelope = sqsRecord(JSON.stringify({ source: 'stripe' }), { messageId: 'bad-shape' });

    // Act
    const response = await handler(
      sqsEvent([good, notJson, notEnvelope]),
      lambdaContext('switchyard-router'),
    );

    // Assess
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: 'bad-json' },
      { itemIdentifier: 'bad-shape' },
    ]);
    expect(published()).toHaveLength(1);
    const changes = visibilityChanges();
    expect(changes.map((entry) => entry.ReceiptHandle)).toEqual(['rh-bad-json', 'rh-bad-shape']);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)[0]?.args[0].input.QueueUrl).toBe(
      QUEUE_URL,
    );
    // receive count 3, base 2 s: between 4 and 8 s; first delivery: between 1 and 2 s
    expect(changes[0]?.VisibilityTimeout).toBeGreaterThanOrEqual(4);
    expect(changes[0]?.VisibilityTimeout).toBeLessThanOrEqual(8);
    expect(changes[1]?.VisibilityTimeout).toBeGreaterThanOrEqual(1);
    expect(changes[1]?.VisibilityTimeout).toBeLessThanOrEqual(2);
  });

  it('returns the failures instead of throwing when every record of the batch fails', async () => {
    // Act
    const response = await handler(sqsEvent([sqsRecord('x', { messageId: 'only' })]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'only' }] });
  });

  it('fails a record whose payload cannot be mapped and forgets its key, so a redelivery runs again', async () => {
    // Prepare
    const payload = fixture<{ data: { object: { customer_details: Record<string, unknown> } } }>(
      'stripe/checkout.session.completed.json',
    );
    payload.data.object.customer_details = { name: 'Ada Lovelace' };
    const record = sqsRecord(inboxEnvelope({ eventId: 'evt_no_email', body: JSON.stringify(payload) }), {
      messageId: 'm-no-email',
    });

    // Act
    const response = await handler(sqsEvent([record]), lambdaContext());

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-no-email' }]);
    expect(published()).toHaveLength(0);
    expect(table.items.size).toBe(0);
  });

  it('fails the record whose event PutEvents refuses, and only that one', async () => {
    // Prepare
    eventBridgeMock
      .on(PutEventsCommand)
      .callsFake((input: { Entries: PutEventsRequestEntry[] }) =>
        input.Entries[0]?.Detail?.includes('order_refused')
          ? { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] }
          : { FailedEntryCount: 0, Entries: [{ EventId: 'e-ok' }] },
      );
    const refusedBody = STRIPE_BODY.replace('"order_1042"', '"order_refused"');
    const ok = sqsRecord(inboxEnvelope(), { messageId: 'm-ok' });
    const refused = sqsRecord(inboxEnvelope({ eventId: 'evt_refused', body: refusedBody }), {
      messageId: 'm-refused',
    });

    // Act
    const response = await handler(sqsEvent([ok, refused]), lambdaContext());

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-refused' }]);
    expect(published()).toHaveLength(2);
    expect(visibilityChanges().map((entry) => entry.ReceiptHandle)).toEqual(['rh-m-refused']);
    expect(table.records()).toHaveLength(1);
  });

  /** A COMPLETED record of the first delivery of the Stripe fixture (Powertools' validation hash of its body). */
  function completedDelivery(bodySha256: string) {
    return new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      Item: completedItem(
        'switchyard-router#x',
        { detailType: 'order.paid' },
        { validation: createHash('md5').update(JSON.stringify(bodySha256)).digest('base64') },
      ),
    });
  }

  it('publishes nothing and succeeds for an event whose record is already COMPLETED', async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(completedDelivery(JSON.parse(inboxEnvelope()).bodySha256));

    // Act
    const response = await handler(sqsEvent([sqsRecord(inboxEnvelope())]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published()).toHaveLength(0);
  });

  it('fails, and so dead-letters, a redelivery of an event id with another body (B20)', async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).rejects(completedDelivery(JSON.parse(inboxEnvelope()).bodySha256));
    const tampered = inboxEnvelope({ body: STRIPE_BODY.replace('4990', '1') });

    // Act
    const response = await handler(
      sqsEvent([sqsRecord(tampered, { messageId: 'msg-b20' })]),
      lambdaContext(),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-b20' }] });
    expect(published()).toHaveLength(0);
  });

  it('publishes a vendor event once when it is delivered again in a later batch', async () => {
    // Prepare
    await handler(sqsEvent([sqsRecord(inboxEnvelope())]), lambdaContext());

    // Act
    const again = await handler(
      sqsEvent([sqsRecord(inboxEnvelope()), sqsRecord(inboxEnvelope({ eventId: 'evt_other' }))]),
      lambdaContext(),
    );

    // Assess
    expect(again).toEqual({ batchItemFailures: [] });
    expect(published().map((entry) => JSON.parse(entry.Detail ?? '').eventKey)).toEqual([
      'stripe:evt_1QxD8rLkdIwHu7ix6mQ0Zb3T',
      'stripe:evt_other',
    ]);
  });

  it('publishes a vendor event once even when the same batch carries it twice', async () => {
    // Act
    await handler(sqsEvent([sqsRecord(inboxEnvelope()), sqsRecord(inboxEnvelope())]), lambdaContext());

    // Assess
    expect(published()).toHaveLength(1);
  });

  it('publishes an event type that has no route as webhook.unrouted, with its body, for the archive', async () => {
    // Prepare
    const record = sqsRecord(
      inboxEnvelope({ eventId: 'evt_pi', eventType: 'payment_intent.succeeded', body: '{"id":"evt_pi"}' }),
    );

    // Act
    const response = await handler(sqsEvent([record]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published()).toHaveLength(1);
    expect(published()[0]).toMatchObject({ Source: 'switchyard.stripe', DetailType: 'webhook.unrouted' });
    expect(JSON.parse(published()[0]?.Detail ?? '{}')).toEqual({
      eventKey: 'stripe:evt_pi',
      eventType: 'payment_intent.succeeded',
      receivedAt: '2025-11-21T12:00:01.000Z',
      body: '{"id":"evt_pi"}',
    });
    expect(table.records()).toMatchObject([
      { status: 'COMPLETED', data: { detailType: 'webhook.unrouted' } },
    ]);
  });

  it.each([
    ['shopify', 'orders/paid', fixtureText('shopify/orders-paid.json'), 'order.paid'],
    ['crm', 'contact.created', fixtureText('crm/contact.created.json'), 'contact.created'],
    ['github', 'push', fixtureText('github/push.json'), 'github.push'],
  ])('publishes a %s %s event as switchyard.<source> %s', async (source, eventType, body, detailType) => {
    // Act
    await handler(
      sqsEvent([sqsRecord(inboxEnvelope({ source, eventType, body, eventId: `${source}-1` }))]),
      lambdaContext(),
    );

    // Assess
    expect(published()).toMatchObject([{ Source: `switchyard.${source}`, DetailType: detailType }]);
    expect(JSON.parse(published()[0]?.Detail ?? '{}').eventKey).toBe(`${source}:${source}-1`);
  });
});
