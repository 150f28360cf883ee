/** aws-sdk-client-mock set-ups shared by the handlers' unit tests. */
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { GUARD_TABLE } from './handler-env.js';
import { fakeIdempotencyTable, type IdempotencyTable } from './idempotency-table.js';

/**
 * The tables a connector (a step, email-sync) reads before calling its downstream: the idempotency table
 * stand-in, and the downstream guard's state (a closed breaker, no rate limit: tested in guard.test.ts).
 */
export function fakeConnectorTables(dynamodb: AwsClientStub<DynamoDBClient>): IdempotencyTable {
  const table = fakeIdempotencyTable(dynamodb);
  dynamodb.on(GetItemCommand, { TableName: GUARD_TABLE }).resolves({});
  dynamodb.on(UpdateItemCommand, { TableName: GUARD_TABLE }).resolves({});
  return table;
}

/**
 * Resets the router's clients to a healthy AWS: an empty idempotency table, EventBridge accepting every
 * event, SQS accepting every visibility change.
 */
export function fakeRouterClients(mocks: {
  dynamodb: AwsClientStub<DynamoDBClient>;
  eventBridge: AwsClientStub<EventBridgeClient>;
  sqs: AwsClientStub<SQSClient>;
}): IdempotencyTable {
  mocks.dynamodb.reset();
  mocks.eventBridge.reset();
  mocks.sqs.reset();
  const table = fakeIdempotencyTable(mocks.dynamodb);
  mocks.eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  mocks.sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
  return table;
}

/**
 * Resets the ingest function's clients to a healthy AWS: SQS accepting every message, Secrets Manager
 * holding `secrets` (secret ARN → signing secret), S3 (when mocked) answering nothing until a test says so.
 */
export function fakeIngestClients(mocks: {
  sqs: AwsClientStub<SQSClient>;
  secretsManager: AwsClientStub<SecretsManagerClient>;
  s3?: AwsClientStub<S3Client>;
  secrets: Record<string, string>;
}): void {
  mocks.sqs.reset();
  mocks.secretsManager.reset();
  mocks.s3?.reset();
  mocks.sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  for (const [secretArn, secret] of Object.entries(mocks.secrets)) {
    mocks.secretsManager
      .on(GetSecretValueCommand, { SecretId: secretArn })
      .resolves({ SecretString: secret });
  }
}
