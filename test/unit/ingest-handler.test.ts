import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InboxEnvelope } from '../../functions/contracts.js';
import { fakeIngestClients } from './support/aws-clients.js';
import { type IngestHandler, loadIngestHandler, stubIngestEnv } from './support/handler-env.js';
import { fixtureText, lambdaContext, webhookEvent } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';
import { shopifySignature, vendorHeaders } from './support/vendor-signing.js';

const NOW_SECONDS = 1_763_726_400;
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/switchyard-inbox';
const arn = (name: string) =>
  `arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchyard/${name}-AbCdEf`;

const SECRETS = {
  stripe: 'whsec_7f3a9c1e5b2d8f4a6c0e9b3d1f5a7c2e',
  shopify: '9c2e4a6b8d0f1a3c5e7b9d1f3a5c7e9b',
  github: 'gh-webhook-secret-3f9a1c7e5b',
  crm: `whsec_${Buffer.alloc(32, 0x2a).toString('base64')}`,
} as const;
const SOURCES = {
  stripe: { scheme: 'stripe', secretArn: arn('stripe'), toleranceSeconds: 300, maxBodyBytes: 4096 },
  shopify: { scheme: 'shopify', secretArn: arn('shopify'), toleranceSeconds: 300, maxBodyBytes: 4096 },
  github: { scheme: 'github', secretArn: arn('github'), toleranceSeconds: 300, maxBodyBytes: 8192 },
  crm: { scheme: 'standard-webhooks', secretArn: arn('crm'), toleranceSeconds: 300, maxBodyBytes: 4096 },
  bulk: { scheme: 'github', secretArn: arn('github'), toleranceSeconds: 300, maxBodyBytes: 2_000_000 },
} as const;
type Source = keyof typeof SOURCES;

const STRIPE_BODY = fixtureText('stripe/checkout.session.completed.json');
const STRIPE_EVENT_ID = 'evt_1QxD8rLkdIwHu7ix6mQ0Zb3T';

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);
const s3Mock = mockClient(S3Client);

let handler: IngestHandler;

/** Signs `body` as the source's vendor does and posts it to the handler. */
async function post(
  source: Source,
  body: string,
  options: {
    eventId?: string;
    eventType?: string;
    timestamp?: number;
    asBytes?: boolean;
    headers?: (signed: Record<string, string>) => Record<string, string | string[]>;
    secret?: string;
  } = {},
): Promise<APIGatewayProxyResult> {
  const scheme = SOURCES[source].scheme;
  const secret = options.secret ?? (source === 'bulk' ? SECRETS.github : SECRETS[source]);
  const signed = await vendorHeaders(scheme, secret, body, {
    timestamp: options.timestamp ?? NOW_SECONDS,
    ...(options.eventId ? { eventId: options.eventId } : {}),
    ...(options.eventType ? { eventType: options.eventType } : {}),
  });
  const headers = options.headers ? options.headers(signed) : signed;
  return handler(
    webhookEvent({ source, body: options.asBytes ? Buffer.from(body, 'utf8') : body, headers }),
    lambdaContext('switchyard-ingest'),
  );
}

function sentEnvelopes(): InboxEnvelope[] {
  return sqsMock
    .commandCalls(SendMessageCommand)
    .map((call) => JSON.parse(call.args[0].input.MessageBody ?? ''));
}

describe('ingest handler', () => {
  let logs: CapturedLogs;

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW_SECONDS * 1000);
    stubIngestEnv({
      SOURCES: JSON.stringify(SOURCES),
      INBOX_QUEUE_URL: QUEUE_URL,
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
    fakeIngestClients({
      sqs: sqsMock,
      secretsManager: secretsMock,
      s3: s3Mock,
      secrets: Object.fromEntries(Object.entries(SECRETS).map(([name, secret]) => [arn(name), secret])),
    });
    logs = captureLogs();
    handler = await loadIngestHandler();
  });

  afterEach(() => {
    logs.restore();
    vi.unstubAllEnvs();
    vi.useRealTimers();
  });

  it('answers 202 and enqueues exactly one envelope with the raw body, byte for byte', async () => {
    // Act
    const response = await post('stripe', STRIPE_BODY);

    // Assess
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toEqual({ id: STRIPE_EVENT_ID });
    const calls = sqsMock.commandCalls(SendMessageCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.QueueUrl).toBe(QUEUE_URL);
    const envelope = JSON.parse(calls[0]?.args[0].input.MessageBody ?? '');
    expect(Object.keys(envelope)).toEqual([
      'source',
      'eventId',
      'eventType',
      'receivedAt',
      'bodySha256',
      'body',
    ]);
    expect(envelope).toEqual({
      source: 'stripe',
      eventId: STRIPE_EVENT_ID,
      eventType: 'checkout.session.completed',
      receivedAt: '2025-11-21T12:00:00.000Z',
      bodySha256: createHash('sha256').update(STRIPE_BODY).digest('hex'),
      body: STRIPE_BODY,
    });
  });

  it('keeps a base64-encoded body with non-ASCII characters byte-identical in the envelope', async () => {
    // Prepare
    const body = JSON.stringify({
      id: 'evt_unicode',
      type: 'checkout.session.completed',
      name: 'Zoë Ångström — 東京 🚀',
      note: 'line\nbreak\u2028separator',
    }).replace('{', '{\n  ');
    const raw = Buffer.from(body, 'utf8');

    // Act
    const response = await post('stripe', body, { asBytes: true });

    // Assess
    expect(response.statusCode).toBe(202);
    const [envelope] = sentEnvelopes();
    expect(sentEnvelopes()).toHaveLength(1);
    expect(Buffer.from(envelope?.body ?? '', 'utf8').equals(raw)).toBe(true);
  });

  it.each([
    [
      'shopify',
      fixtureText('shopify/orders-paid.json'),
      'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      'orders/paid',
    ],
    ['github', fixtureText('github/push.json'), '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'push'],
    ['crm', fixtureText('crm/contact.created.json'), 'msg_2pQz8Yb3mKp9QwErTyUiOp', 'contact.created'],
  ] as const)(
    'accepts a signed %s webhook and enqueues it under the vendor event id',
    async (source, body, eventId, eventType) => {
      // Act
      const response = await post(source, body, { eventId, eventType });

      // Assess
      expect(response.statusCode).toBe(202);
      expect(sentEnvelopes()).toEqual([
        {
          source,
          eventId,
          eventType,
          receivedAt: '2025-11-21T12:00:00.000Z',
          bodySha256: createHash('sha256').update(body).digest('hex'),
          body,
        },
      ]);
    },
  );

  it('accepts a request signed with the previous secret while a rotation overlaps', async () => {
    // Prepare
    secretsMock.on(GetSecretValueCommand, { SecretId: arn('stripe') }).resolves({
      SecretString: JSON.stringify({
        current: 'whsec_brand_new',
        previous: SECRETS.stripe,
        previousExpiresAt: '2025-11-22T00:00:00Z',
      }),
    });

    // Act
    const response = await post('stripe', STRIPE_BODY);

    // Assess
    expect(response.statusCode).toBe(202);
  });

  it.each([
    ['a tampered body', { tamper: true }],
    ['another secret', { secret: 'whsec_someone_else' }],
    ['a stale timestamp', { timestamp: NOW_SECONDS - 301 }],
    ['no signature header', { drop: true }],
    ['a repeated signature header', { repeat: true }],
  ])('answers 401 invalid_signature and enqueues nothing for %s', async (_, variant) => {
    // Prepare
    const options = variant as {
      tamper?: boolean;
      secret?: string;
      timestamp?: number;
      drop?: boolean;
      repeat?: boolean;
    };
    const signed = await vendorHeaders('stripe', options.secret ?? SECRETS.stripe, STRIPE_BODY, {
      timestamp: options.timestamp ?? NOW_SECONDS,
    });
    const { 'Stripe-Signature': signature = '', ...rest } = signed;
    const headers = options.drop
      ? rest
      : options.repeat
        ? { ...rest, 'Stripe-Signature': [signature, signature] }
        : signed;
    const body = options.tamper ? STRIPE_BODY.replace('4990', '0001') : STRIPE_BODY;

    // Act
    const response = await handler(webhookEvent({ source: 'stripe', body, headers }), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(401);
    expect(response.body).toBe('{"error":"invalid_signature"}');
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it.each(['paypal', '__proto__', 'constructor', 'hasOwnProperty', ''])(
    'answers 404 unknown_source for the source "%s" without reading any secret',
    async (source) => {
      // Act
      const response = await handler(
        webhookEvent({ source, body: '{}', headers: { 'Content-Type': 'application/json' } }),
        lambdaContext(),
      );

      // Assess
      expect(response.statusCode).toBe(404);
      expect(JSON.parse(response.body)).toEqual({ error: 'unknown_source' });
      expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
      expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    },
  );

  it('answers 404 when API Gateway passes no path parameters', async () => {
    // Prepare
    const event = { ...webhookEvent({ source: 'stripe', body: '{}', headers: {} }), pathParameters: null };

    // Act
    const response = await handler(event, lambdaContext());

    // Assess
    expect(response.statusCode).toBe(404);
  });

  it('answers 413 for a body over maxBodyBytes, counted in bytes, before reading the secret', async () => {
    // Prepare: 3000 characters, 6000 bytes in UTF-8, for a limit of 4096 bytes
    const body = JSON.stringify({ id: 'evt_big', type: 't', pad: 'é'.repeat(3000) });

    // Act
    const response = await post('stripe', body, { asBytes: true });

    // Assess
    expect(body.length).toBeLessThan(4096);
    expect(response.statusCode).toBe(413);
    expect(JSON.parse(response.body)).toEqual({ error: 'payload_too_large' });
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('accepts a body of exactly maxBodyBytes', async () => {
    // Prepare
    const start = JSON.stringify({ id: 'evt_edge', type: 't', pad: '' });
    const body = start.replace('"pad":""', `"pad":"${'x'.repeat(4096 - start.length)}"`);

    // Act
    const response = await post('stripe', body);

    // Assess
    expect(Buffer.byteLength(body)).toBe(4096);
    expect(response.statusCode).toBe(202);
  });

  it('stores a body whose envelope would exceed the claim-check threshold in S3, and enqueues a pointer', async () => {
    // Prepare: 700 000 bytes of `\"` that the envelope escapes to twice the size
    const body = `{"id":"evt_escaped","pad":"${'\\"'.repeat(350_000)}"}`;
    s3Mock.on(PutObjectCommand).resolves({});

    // Act
    const response = await post('bulk', body, { eventType: 'push', eventId: 'gh-big' });

    // Assess
    expect(response.statusCode).toBe(202);
    const [put] = s3Mock.commandCalls(PutObjectCommand);
    expect(put?.args[0].input).toMatchObject({ Bucket: 'switchyard-payloads', Body: body });
    const [envelope] = sentEnvelopes();
    expect(envelope?.body).toBeUndefined();
    expect(envelope?.bodyRef).toEqual({
      bucket: 'switchyard-payloads',
      key: put?.args[0].input.Key,
      bytes: Buffer.byteLength(body),
    });
  });

  it('answers 503 and enqueues nothing when the claim-checked body cannot be stored', async () => {
    // Prepare
    const body = `{"id":"evt_big","pad":"${'x'.repeat(300_000)}"}`;
    s3Mock.on(PutObjectCommand).rejects(new Error('S3 is down'));

    // Act
    const response = await post('bulk', body, { eventType: 'push', eventId: 'gh-big-2' });

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['form encoded', 'application/x-www-form-urlencoded'],
    ['a json look-alike', 'application/jsonp'],
    ['missing', undefined],
  ])('answers 415 for a %s content type', async (_, contentType) => {
    // Act
    const response = await post('stripe', STRIPE_BODY, {
      headers: ({ 'Content-Type': _drop, ...signed }) =>
        contentType ? { ...signed, 'Content-Type': contentType } : signed,
    });

    // Assess
    expect(response.statusCode).toBe(415);
    expect(JSON.parse(response.body)).toEqual({ error: 'unsupported_media_type' });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it.each([
    'Application/JSON; charset=UTF-8',
    'application/json;charset=utf-8',
    'application/vnd.stripe+json',
  ])('accepts the JSON content type %s', async (contentType) => {
    // Act
    const response = await post('stripe', STRIPE_BODY, {
      headers: (signed) => ({ ...signed, 'Content-Type': contentType }),
    });

    // Assess
    expect(response.statusCode).toBe(202);
  });

  it('answers 400 invalid_payload for a validly signed body that is not UTF-8', async () => {
    // Prepare
    const raw = Buffer.concat([Buffer.from('{"note":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const headers = {
      'Content-Type': 'application/json',
      'X-Shopify-Topic': 'orders/paid',
      'X-Shopify-Webhook-Id': 'w-1',
      'X-Shopify-Hmac-Sha256': shopifySignature(SECRETS.shopify, raw),
    };

    // Act
    const response = await handler(webhookEvent({ source: 'shopify', body: raw, headers }), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'invalid_payload' });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it.each([
    ['is not JSON', '{"id":"evt_1","type":'],
    ['has no event id', '{"type":"checkout.session.completed"}'],
    ['has no event type', '{"id":"evt_1"}'],
  ])('answers 400 invalid_payload for a validly signed body that %s', async (_, body) => {
    // Act
    const response = await post('stripe', body);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'invalid_payload' });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('answers 503 with Retry-After when the queue does not confirm the message', async () => {
    // Prepare
    sqsMock
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error('service unavailable'), { name: 'ServiceUnavailable' }));

    // Act
    const response = await post('stripe', STRIPE_BODY);

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'retry-after': '30', 'content-type': 'application/json' });
    expect(JSON.parse(response.body)).toEqual({ error: 'temporarily_unavailable' });
  });

  it('answers 503 with Retry-After and enqueues nothing when the signing secret cannot be read', async () => {
    // Prepare
    secretsMock
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));

    // Act
    const response = await post('stripe', STRIPE_BODY);

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it.each([
    ['the placeholder the stack creates', '{"status":"unset","placeholder":"x"}'],
    ['an empty value', ''],
  ])('answers 503 with Retry-After when the secret holds %s', async (_, value) => {
    // Prepare
    secretsMock.on(GetSecretValueCommand, { SecretId: arn('stripe') }).resolves({ SecretString: value });

    // Act
    const response = await post('stripe', STRIPE_BODY);

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('reads each signing secret once across several requests', async () => {
    // Act
    const statuses = [];
    for (const eventId of ['evt_a', 'evt_b', 'evt_c']) {
      statuses.push((await post('stripe', JSON.stringify({ id: eventId, type: 't' }))).statusCode);
    }
    statuses.push((await post('stripe', STRIPE_BODY.replace('4990', '1'))).statusCode);

    // Assess
    expect(statuses).toEqual([202, 202, 202, 202]);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('reads the secret again once the cached value is 5 minutes old', async () => {
    // Prepare
    await post('stripe', STRIPE_BODY);
    vi.setSystemTime((NOW_SECONDS + 301) * 1000);

    // Act
    const response = await post('stripe', STRIPE_BODY, { timestamp: NOW_SECONDS + 301 });

    // Assess
    expect(response.statusCode).toBe(202);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('never logs the signing secret, the signature header or the raw body', async () => {
    // Prepare
    const body = JSON.stringify({
      id: 'evt_private',
      type: 'checkout.session.completed',
      email: 'ada.private@example.com',
    });
    const signed = await vendorHeaders('stripe', SECRETS.stripe, body, { timestamp: NOW_SECONDS });
    const signature = signed['Stripe-Signature'] ?? '';

    // Act
    await post('stripe', body);
    await post('stripe', body.replace('ada', 'eve'), { secret: 'whsec_someone_else' });
    await post('stripe', '{"type":"no-id","email":"ada.private@example.com"}');
    sqsMock.on(SendMessageCommand).rejects(new Error('boom'));
    await post('stripe', body);

    // Assess
    const text = logs.text();
    expect(text).toContain('webhook accepted');
    expect(text).toContain('signature rejected');
    expect(text).toContain('payload rejected');
    expect(text).toContain('store failed');
    expect(text).not.toContain(SECRETS.stripe);
    expect(text).not.toContain(signature.split(',v1=')[1]);
    expect(text).not.toContain('ada.private@example.com');
    expect(text).not.toContain('eve.private@example.com');
  });

  it('does not attribute a rejected request to the event key of the previous request in its logs', async () => {
    // Prepare
    await post('stripe', STRIPE_BODY);

    // Act
    await post('stripe', STRIPE_BODY, { secret: 'whsec_someone_else' });

    // Assess
    const rejection = logs.entries().find((entry) => entry.message === 'signature rejected');
    expect(rejection).toBeDefined();
    expect(rejection?.eventKey).toBeUndefined();
  });

  it('answers a repeated Content-Type header with a 4xx client error, not a 5xx', async () => {
    // Act
    const outcome = await post('stripe', STRIPE_BODY, {
      headers: (signed) => ({ ...signed, 'Content-Type': ['application/json', 'application/json'] }),
    }).then(
      (response) => response.statusCode,
      (error: Error) => `threw ${error.name}: ${error.message}`,
    );

    // Assess
    expect(typeof outcome === 'number' && outcome >= 400 && outcome < 500 ? 'a 4xx answer' : outcome).toBe(
      'a 4xx answer',
    );
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('answers a validly signed Shopify webhook with a repeated X-Shopify-Webhook-Id with a 4xx, not a 5xx', async () => {
    // Act
    const outcome = await post('shopify', fixtureText('shopify/orders-paid.json'), {
      headers: (signed) => ({ ...signed, 'X-Shopify-Webhook-Id': ['w-1', 'w-2'] }),
    }).then(
      (response) => response.statusCode,
      (error: Error) => `threw ${error.name}: ${error.message}`,
    );

    // Assess
    expect(typeof outcome === 'number' && outcome >= 400 && outcome < 500 ? 'a 4xx answer' : outcome).toBe(
      'a 4xx answer',
    );
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('never enqueues a body that differs from the verified bytes, even one that starts with a byte-order mark', async () => {
    // Prepare
    const body = `\uFEFF${JSON.stringify({ id: 'evt_bom', type: 'checkout.session.completed' })}`;
    const raw = Buffer.from(body, 'utf8');

    // Act
    const response = await post('stripe', body, { asBytes: true });

    // Assess: either refused, or enqueued with the very bytes that were verified
    expect(raw.subarray(0, 3).toString('hex')).toBe('efbbbf');
    expect(
      sentEnvelopes().map((envelope) => Buffer.from(envelope.body ?? '', 'utf8').toString('hex')),
    ).toEqual(response.statusCode === 202 ? [raw.toString('hex')] : []);
    expect([202, 400]).toContain(response.statusCode);
  });
});
