import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeConnectorTables } from './support/aws-clients.js';
import { stubEmailSyncEnv } from './support/handler-env.js';
import { json, type Responder, startServer, type TestServer } from './support/http-server.js';
import { lambdaContext, sqsEvent, sqsRecord } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

const LEDGER_TABLE = 'switchyard-ledger';
const VERSIONS_TABLE = 'switchyard-versions';
const EVENT_KEY = 'crm:msg_2pQz8Yb3mKp9QwErTyUiOp';

const dynamoMock = mockClient(DynamoDBClient);
const sqsMock = mockClient(SQSClient);

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;
let handler: Handler;

const contact = {
  eventKey: EVENT_KEY,
  contactId: 'ct_01JD2Q8Y5RZ4M9V7K3N6B1X0PA',
  email: 'katherine.johnson@example.com',
  updatedAt: '2026-11-21T09:30:00.000Z',
};

/** The versions table, in memory: contact key → applied `updatedAt`. */
const versions = new Map<string, string>();

function busEvent(detail: Record<string, unknown> = contact, detailType = 'contact.updated'): string {
  return JSON.stringify({ source: 'switchyard.crm', 'detail-type': detailType, detail });
}

const ledgerItems = () =>
  dynamoMock
    .commandCalls(BatchWriteItemCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.[LEDGER_TABLE] ?? [])
    .map((request) => unmarshall(request.PutRequest?.Item ?? {}));

describe('email-sync handler: event ledger', () => {
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
    respond = (_, response) => json(response, 200, { status: 'subscribed' });
    stubEmailSyncEnv({
      DOWNSTREAM_BASE_URL: server.baseUrl,
      VERSIONS_TABLE_NAME: VERSIONS_TABLE,
      LEDGER_TABLE_NAME: LEDGER_TABLE,
      POWERTOOLS_SERVICE_NAME: 'email-sync',
    });
    dynamoMock.reset();
    sqsMock.reset();
    fakeConnectorTables(dynamoMock);
    dynamoMock.on(BatchWriteItemCommand).resolves({});
    versions.clear();
    dynamoMock
      .on(PutItemCommand, { TableName: VERSIONS_TABLE })
      .callsFake((input: { Item: Record<string, { S?: string }> }) => {
        const key = input.Item.pk?.S ?? '';
        const updatedAt = input.Item.updatedAt?.S ?? '';
        const applied = versions.get(key);
        if (applied !== undefined && applied > updatedAt) {
          throw new ConditionalCheckFailedException({
            message: 'The conditional request failed',
            $metadata: {},
          });
        }
        versions.set(key, updatedAt);
        return {};
      });
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

  it('records delivered once the email platform is updated', async () => {
    // Act
    await handler(sqsEvent([sqsRecord(busEvent())]), lambdaContext());

    // Assess
    expect(ledgerItems()).toEqual([
      expect.objectContaining({
        pk: EVENT_KEY,
        stage: 'delivered',
        source: 'crm',
        eventType: 'contact.updated',
        component: 'email-sync',
        details: { system: 'email' },
      }),
    ]);
  });

  it('records skipped for an update older than the applied one, and duplicate for a redelivery', async () => {
    // Prepare
    await handler(sqsEvent([sqsRecord(busEvent())]), lambdaContext());
    const older = busEvent({ ...contact, eventKey: 'crm:msg_older', updatedAt: '2026-11-21T09:00:00.000Z' });

    // Act
    await handler(sqsEvent([sqsRecord(older), sqsRecord(busEvent())]), lambdaContext());

    // Assess
    expect(server.requests).toHaveLength(1);
    // Records of one batch run concurrently: the order within the second batch is not fixed.
    const [first, ...second] = ledgerItems().map((item) => `${item.pk} ${item.stage}`);
    expect(first).toBe(`${EVENT_KEY} delivered`);
    expect(second.sort()).toEqual([`${EVENT_KEY} duplicate`, 'crm:msg_older skipped']);
  });

  it.each([
    [1, ['failed']],
    [5, ['failed', 'dead-lettered']],
  ])('on a failed call at receive %i of 5, records %j', async (receiveCount, stages) => {
    // Prepare
    respond = (_, response) => json(response, 422, { error: 'invalid' });

    // Act
    const response = await handler(
      sqsEvent([sqsRecord(busEvent(), { messageId: 'failing', receiveCount })]),
      lambdaContext(),
    );

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'failing' }]);
    expect(ledgerItems().map((item) => item.stage)).toEqual(stages);
    expect(ledgerItems()).toEqual(
      stages.map(() =>
        expect.objectContaining({
          failureSource: 'crm',
          details: expect.objectContaining({ errorName: 'TerminalUpstreamError', receiveCount }),
        }),
      ),
    );
  });
});
