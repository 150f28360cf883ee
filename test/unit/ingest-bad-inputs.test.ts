import { randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { STAGES } from '../../bin/stages.js';
import { newSigningSecret } from '../../local/signing.js';
import { BAD_INPUT_ROWS, type RowContext } from '../support/bad-inputs.js';
import { lambdaContext, webhookEvent } from './support/lambda.js';

const sources = STAGES.local?.sources ?? [];
const secrets = Object.fromEntries(sources.map((source) => [source.name, newSigningSecret(source)]));
const arnOf = (name: string) => `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}`;

const sqs = mockClient(SQSClient);
const s3 = mockClient(S3Client);
const secretsManager = mockClient(SecretsManagerClient);
let handler: (event: APIGatewayProxyEvent, context: unknown) => Promise<APIGatewayProxyResult>;

beforeAll(async () => {
  const config = Object.fromEntries(
    sources.map(({ name, mapper, signingSecretArn, toleranceSeconds, maxBodyBytes, ...scheme }) => [
      name,
      {
        ...scheme,
        secretArn: arnOf(name),
        toleranceSeconds: toleranceSeconds ?? 300,
        maxBodyBytes: maxBodyBytes ?? 1_048_576,
      },
    ]),
  );
  vi.stubEnv('SOURCES', JSON.stringify(config));
  vi.stubEnv('SECRET_CACHE_SECONDS', '300');
  vi.stubEnv('SECRET_STALE_SECONDS', '900');
  vi.stubEnv('INBOX_QUEUE_URL', 'https://sqs.us-east-1.amazonaws.com/000000000000/inbox');
  vi.stubEnv('PAYLOAD_BUCKET_NAME', 'payloads');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Switchyard');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'ingest');
  vi.stubEnv('POWERTOOLS_DEV', 'false');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  for (const source of sources) {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: arnOf(source.name) })
      .resolves({ SecretString: secrets[source.name] });
  }
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  s3.on(PutObjectCommand).resolves({});
  ({ handler } = (await import('../../functions/ingest/handler.js')) as unknown as {
    handler: typeof handler;
  });
});

afterAll(() => {
  vi.unstubAllEnvs();
});

describe('ingest handler, on the bad-input table', () => {
  it.each(BAD_INPUT_ROWS)('$id $title → $expected.status', async (row) => {
    // Prepare
    const context: RowContext = {
      secrets,
      unique: randomBytes(6).toString('hex'),
      now: Math.floor(Date.now() / 1000),
    };
    const request = await row.build(context);
    const event = webhookEvent({
      source: row.source,
      body: Buffer.from(request.body),
      headers: request.headers,
    });
    event.queryStringParameters = request.query ?? null;
    sqs.resetHistory();

    // Act
    const response = await handler(event, lambdaContext('switchyard-ingest'));

    // Assess
    expect(response.statusCode).toBe(row.expected.status);
    expect(response.statusCode).toBeLessThan(500);
    const storedKeys = sqs
      .commandCalls(SendMessageCommand)
      .map(
        (call) => JSON.parse(call.args[0].input.MessageBody ?? '{}') as { source: string; eventId: string },
      )
      .map((envelope) => `${envelope.source}:${envelope.eventId}`);
    expect(storedKeys).toEqual(row.expected.stored ? [row.eventKey(context)] : []);
    if (response.statusCode >= 400) expect(Object.keys(JSON.parse(response.body))).toEqual(['error']);
  });
});
