/** Builders of Lambda inputs for unit tests: contexts, API Gateway proxy events, SQS records, fixtures. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { InboxEnvelope } from '../../../functions/contracts.js';

/** A vendor payload fixture from test/fixtures, as the exact text on disk. */
export function fixtureText(path: string): string {
  return readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', path), 'utf8');
}

/** A vendor payload fixture from test/fixtures, parsed. */
export function fixture<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(fixtureText(path)) as T;
}

/** A Lambda context whose remaining time is fixed at `remainingTimeMs`. */
export function lambdaContext(functionName = 'switchyard-test', remainingTimeMs = 10_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/21/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => remainingTimeMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface WebhookRequest {
  source: string;
  /** The raw body: a string is sent as UTF-8 text, a Buffer base64-encoded (`isBase64Encoded: true`). */
  body: string | Buffer;
  /** Header name → value, or several values for a repeated header. */
  headers: Record<string, string | string[]>;
}

/** An API Gateway REST (payload 1.0) proxy event for `POST /webhooks/{source}`. */
export function webhookEvent({ source, body, headers }: WebhookRequest): APIGatewayProxyEvent {
  const multiValueHeaders = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value : [value]]),
  );
  const lastValues = Object.fromEntries(
    Object.entries(multiValueHeaders).map(([name, values]) => [name, values.at(-1)]),
  );
  const base64 = Buffer.isBuffer(body);
  return {
    resource: '/webhooks/{source}',
    path: `/webhooks/${source}`,
    httpMethod: 'POST',
    headers: lastValues,
    multiValueHeaders,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { source },
    stageVariables: null,
    isBase64Encoded: base64,
    body: base64 ? body.toString('base64') : body,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

let messageCounter = 0;

/** One SQS record carrying `body`; `receiveCount` is its `ApproximateReceiveCount`. */
export function sqsRecord(
  body: string,
  options: { messageId?: string; receiveCount?: number } = {},
): SQSRecord {
  messageCounter += 1;
  const messageId = options.messageId ?? `msg-${messageCounter}`;
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: '1763726400000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1763726400001',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:inbox',
    awsRegion: 'eu-west-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/**
 * An inbox message body (an `InboxEnvelope`, JSON) as the ingest function enqueues it: by default the
 * Stripe `checkout.session.completed` fixture, event `evt_1QxD8rLkdIwHu7ix6mQ0Zb3T`, with its SHA-256.
 */
export function inboxEnvelope(overrides: Partial<InboxEnvelope> = {}): string {
  const body = overrides.body ?? fixtureText('stripe/checkout.session.completed.json');
  return JSON.stringify({
    source: 'stripe',
    eventId: 'evt_1QxD8rLkdIwHu7ix6mQ0Zb3T',
    eventType: 'checkout.session.completed',
    receivedAt: '2025-11-21T12:00:01.000Z',
    bodySha256: createHash('sha256').update(body).digest('hex'),
    body,
    ...overrides,
  });
}
