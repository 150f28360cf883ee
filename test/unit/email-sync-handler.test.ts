import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeConnectorTables } from './support/aws-clients.js';
import { stubEmailSyncEnv } from './support/handler-env.js';
import { json, type Responder, startServer, type TestServer } from './support/http-server.js';
import type { IdempotencyTable } from './support/idempotency-table.js';
import { lambdaContext, sqsEvent, sqsRecord } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/switchyard-email-sync';

const dynamoMock = mockClient(DynamoDBClient);
const sqsMock = mockClient(SQSClient);

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;
let handler: Handler;
let table: IdempotencyTable;

const contact = {
  eventKey: 'crm:msg_2pQz8Yb3mKp9QwErTyUiOp',
  contactId: 'ct_01JD2Q8Y5RZ4M9V7K3N6B1X0PA',
  email: 'katherine.johnson@example.com',
  firstName: 'Katherine',
  lastName: 'Johnson',
  updatedAt: '2026-11-21T09:30:00.000Z',
};

const VERSIONS_TABLE = 'switchyard-versions';
/** The versions table, in memory: contact key → applied `updatedAt`. */
const versions = new Map<string, string>();

/** PutItem on the versions table, with the condition the handler sends. */
function claimVersion(input: { Item: Record<string, { S?: string }>; ConditionExpression?: string }) {
  expect(input.ConditionExpression).toBe('attribute_not_exists(pk) OR updatedAt <= :updatedAt');
  const key = input.Item.pk?.S ?? '';
  const updatedAt = input.Item.updatedAt?.S ?? '';
  const applied = versions.get(key);
  if (applied !== undefined && !(applied <= updatedAt)) {
    throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
  }
  versions.set(key, updatedAt);
  return {};
}

/** An EventBridge event as the rule delivers it to the email-sync queue. */
function busEvent(detailType: string, detail: Record<string, unknown> = contact): string {
  return JSON.stringify({
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': detailType,
    source: 'switchyard.crm',
    account: '123456789012',
    time: '2026-11-21T09:30:01Z',
    region: 'eu-west-1',
    resources: [],
    detail,
  });
}

describe('email-sync handler', () => {
  let server: TestServer;
  let respond: Responder;
  let logs: CapturedLogs;

  beforeAll(async () => {
    server = await startServer((request, response) => respond(request, response));
  });
  afterAll(async () => {
    await server.close();
  });

  beforeEach(async () => {
    server.requests.length = 0;
    respond = (request, response) =>
      request.method === 'DELETE' ? json(response, 204) : json(response, 200, { status: 'subscribed' });
    stubEmailSyncEnv({ DOWNSTREAM_BASE_URL: server.baseUrl, QUEUE_URL, VERSIONS_TABLE_NAME: VERSIONS_TABLE });
    dynamoMock.reset();
    sqsMock.reset();
    table = fakeConnectorTables(dynamoMock);
    versions.clear();
    dynamoMock.on(PutItemCommand, { TableName: VERSIONS_TABLE }).callsFake(claimVersion);
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
    logs = captureLogs();
    vi.resetModules();
    ({ handler } = (await import('../../functions/email-sync/handler.js')) as unknown as {
      handler: Handler;
    });
  });

  afterEach(() => {
    logs.restore();
    vi.unstubAllEnvs();
  });

  it.each(['contact.created', 'contact.updated'])(
    'subscribes or updates the contact for %s, with an Idempotency-Key of <event key>:email-sync',
    async (detailType) => {
      // Act
      const response = await handler(sqsEvent([sqsRecord(busEvent(detailType))]), lambdaContext());

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]).toMatchObject({
        method: 'PUT',
        path: '/subscribers/katherine.johnson%40example.com',
        headers: { 'idempotency-key': 'crm:msg_2pQz8Yb3mKp9QwErTyUiOp:email-sync' },
      });
      expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({
        email: 'katherine.johnson@example.com',
        firstName: 'Katherine',
        lastName: 'Johnson',
      });
      expect(table.records()).toMatchObject([{ status: 'COMPLETED', data: { applied: detailType } }]);
    },
  );

  it('unsubscribes the contact for contact.deleted', async () => {
    // Act
    const response = await handler(sqsEvent([sqsRecord(busEvent('contact.deleted'))]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'DELETE /subscribers/katherine.johnson%40example.com',
    ]);
  });

  it('reports malformed messages by message id, backs them off and calls nothing', async () => {
    // Prepare
    const records = [
      sqsRecord('not json', { messageId: 'not-json' }),
      sqsRecord(busEvent('order.paid'), { messageId: 'wrong-type' }),
      sqsRecord(busEvent('contact.created', { ...contact, email: 'not-an-email' }), {
        messageId: 'bad-detail',
      }),
      sqsRecord(busEvent('contact.created', { ...contact, eventKey: '' }), { messageId: 'no-key' }),
    ];

    // Act
    const response = await handler(sqsEvent(records), lambdaContext());

    // Assess
    expect(response.batchItemFailures).toEqual(
      records.map((record) => ({ itemIdentifier: record.messageId })),
    );
    expect(server.requests).toHaveLength(0);
    const changes = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand);
    expect(changes).toHaveLength(1);
    expect(changes[0]?.args[0].input.QueueUrl).toBe(QUEUE_URL);
    expect(changes[0]?.args[0].input.Entries?.map((entry) => entry.ReceiptHandle)).toEqual(
      records.map((record) => record.receiptHandle),
    );
  });

  it.each([
    ['a transient 503', 503],
    ['a terminal 422', 422],
  ])('fails the record on %s and forgets its key, so a redelivery calls again', async (_, status) => {
    // Prepare
    const good = sqsRecord(
      busEvent('contact.updated', { ...contact, eventKey: 'crm:other', email: 'ok@example.com' }),
    );
    const failing = sqsRecord(busEvent('contact.created'), { messageId: 'failing' });
    respond = (request, response) =>
      request.path.includes('ok%40') ? json(response, 200, {}) : json(response, status, { error: 'x' });

    // Act
    const response = await handler(sqsEvent([good, failing]), lambdaContext());

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'failing' }]);
    expect(table.records().map((record) => record.status)).toEqual(['COMPLETED']);
    expect(
      sqsMock
        .commandCalls(ChangeMessageVisibilityBatchCommand)
        .flatMap((call) => call.args[0].input.Entries ?? []),
    ).toMatchObject([{ ReceiptHandle: 'rh-failing' }]);
  });

  it('applies an event once: a redelivered event does not call the email platform again', async () => {
    // Prepare
    await handler(sqsEvent([sqsRecord(busEvent('contact.created'))]), lambdaContext());

    // Act
    const response = await handler(sqsEvent([sqsRecord(busEvent('contact.created'))]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(server.requests).toHaveLength(1);
  });

  it('bounds the downstream call by the remaining time of the invocation', async () => {
    // Act: 1 s left is all safety margin, no time for the call
    const response = await handler(
      sqsEvent([sqsRecord(busEvent('contact.created'), { messageId: 'late' })]),
      lambdaContext('switchyard-email-sync', 1000),
    );

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'late' }]);
    expect(server.requests).toHaveLength(0);
  });

  it('skips an update older than one already applied to the contact, whatever order they arrive in (F15)', async () => {
    // Prepare: v2 (newer) arrives before v1 (older), then the deletion v3, then a late v2 copy of another event
    const at = (minute: number) => `2026-11-21T09:${String(minute).padStart(2, '0')}:00.000Z`;
    const event = (key: string, detailType: string, minute: number) =>
      sqsRecord(busEvent(detailType, { ...contact, eventKey: key, updatedAt: at(minute) }));

    // Act
    await handler(sqsEvent([event('crm:v2', 'contact.updated', 32)]), lambdaContext());
    await handler(sqsEvent([event('crm:v1', 'contact.created', 30)]), lambdaContext());
    await handler(sqsEvent([event('crm:v3', 'contact.deleted', 40)]), lambdaContext());
    const late = await handler(sqsEvent([event('crm:v2b', 'contact.updated', 35)]), lambdaContext());

    // Assess: only v2 and v3 reached the email platform, in that order; the late ones were skipped, not failed
    expect(server.requests.map((request) => request.method)).toEqual(['PUT', 'DELETE']);
    expect(late).toEqual({ batchItemFailures: [] });
    expect(versions.get(`contact#switchyard.crm#${contact.contactId}`)).toBe(at(40));
  });

  it('applies a retry of the same update (equal timestamp) after its first attempt failed', async () => {
    // Prepare
    respond = (_request, response) => json(response, 503);
    await handler(sqsEvent([sqsRecord(busEvent('contact.updated'))]), lambdaContext());
    respond = (_request, response) => json(response, 200, { status: 'subscribed' });

    // Act
    const retry = await handler(sqsEvent([sqsRecord(busEvent('contact.updated'))]), lambdaContext());

    // Assess
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(server.requests).toHaveLength(2);
  });

  it('backs a throttled record off for at least the Retry-After the email platform asked (F9)', async () => {
    // Prepare
    respond = (_request, response) => json(response, 429, { error: 'slow down' }, { 'retry-after': '45' });

    // Act
    const response = await handler(
      sqsEvent([sqsRecord(busEvent('contact.updated'), { messageId: 'm-429' })]),
      lambdaContext(),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-429' }] });
    const [call] = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand);
    expect(call?.args[0].input.Entries?.[0]?.VisibilityTimeout).toBeGreaterThanOrEqual(45);
  });
});
