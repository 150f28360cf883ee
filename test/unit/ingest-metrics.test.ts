import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { VerificationFailure } from '../../functions/verify/index.js';
import { fakeIngestClients } from './support/aws-clients.js';
import { dimensionSet, emittedMetrics } from './support/emf.js';
import { type IngestHandler, loadIngestHandler, stubIngestEnv } from './support/handler-env.js';
import { fixtureText, lambdaContext, webhookEvent } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';
import { vendorHeaders } from './support/vendor-signing.js';

const NOW_SECONDS = 1_763_726_400;
const SERVICE = 'switchyard-ingest';
const SECRET = 'whsec_7f3a9c1e5b2d8f4a6c0e9b3d1f5a7c2e';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchyard/stripe-AbCdEf';
const SOURCES = {
  stripe: { scheme: 'stripe', secretArn: SECRET_ARN, toleranceSeconds: 300, maxBodyBytes: 4096 },
} as const;
const STRIPE_BODY = fixtureText('stripe/checkout.session.completed.json');
const TRACE_HEADER = 'Root=1-6920b240-5f1c2d3e4a5b6c7d8e9f0a1b;Parent=53995c3f42cd8ad8;Sampled=1';

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);
const s3Mock = mockClient(S3Client);

let handler: IngestHandler;

const STRIPE_HEADER = 'Stripe-Signature';

interface PostOptions {
  body?: string;
  timestamp?: number;
  secret?: string;
  headers?: (signed: Record<string, string>) => Record<string, string | string[]>;
}

/** A Stripe request: signed headers, changed by `headers`, with `body` (the fixture by default). */
async function postStripe(options: PostOptions = {}): Promise<APIGatewayProxyResult> {
  const body = options.body ?? STRIPE_BODY;
  const signed = await vendorHeaders('stripe', options.secret ?? SECRET, body, {
    timestamp: options.timestamp ?? NOW_SECONDS,
  });
  const headers = options.headers ? options.headers(signed) : signed;
  return handler(webhookEvent({ source: 'stripe', body, headers }), lambdaContext('switchyard-ingest'));
}

describe('ingest metrics', () => {
  let logs: CapturedLogs;

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW_SECONDS * 1000);
    stubIngestEnv({
      SOURCES: JSON.stringify(SOURCES),
      POWERTOOLS_SERVICE_NAME: SERVICE,
      _X_AMZN_TRACE_ID: TRACE_HEADER,
    });
    fakeIngestClients({
      sqs: sqsMock,
      secretsManager: secretsMock,
      s3: s3Mock,
      secrets: { [SECRET_ARN]: SECRET },
    });
    logs = captureLogs();
    handler = await loadIngestHandler();
  });

  afterEach(() => {
    logs.restore();
    vi.unstubAllEnvs();
    vi.useRealTimers();
  });

  it('counts an accepted webhook as received and enqueued under its event type, and times the ack', async () => {
    // Act
    const response = await postStripe();

    // Assess
    expect(response.statusCode).toBe(202);
    expect(emittedMetrics(logs, 'WebhookReceived')).toEqual([
      {
        name: 'WebhookReceived',
        unit: 'Count',
        value: 1,
        namespace: 'Switchyard',
        dimensionSets: [dimensionSet('service', 'source')],
        dimensions: { service: SERVICE, source: 'stripe' },
      },
    ]);
    expect(emittedMetrics(logs, 'WebhookEnqueued')).toEqual([
      {
        name: 'WebhookEnqueued',
        unit: 'Count',
        value: 1,
        namespace: 'Switchyard',
        dimensionSets: [dimensionSet('service', 'source', 'eventType')],
        dimensions: { service: SERVICE, source: 'stripe', eventType: 'checkout.session.completed' },
      },
    ]);
    const [latency, ...moreLatencies] = emittedMetrics(logs, 'AckLatency');
    expect(moreLatencies).toEqual([]);
    expect(latency).toMatchObject({
      unit: 'Milliseconds',
      dimensionSets: [dimensionSet('service', 'source')],
      dimensions: { service: SERVICE, source: 'stripe' },
    });
    expect(latency?.value).toBeTypeOf('number');
    expect(latency?.value).toBeGreaterThanOrEqual(0);
    expect(emittedMetrics(logs, 'WebhookRejected')).toEqual([]);
    expect(emittedMetrics(logs, 'EnqueueFailed')).toEqual([]);
    expect(emittedMetrics(logs, 'WebhookAccepted')).toEqual([]);
  });

  it('makes no AWS call for its metrics: one SendMessage is the only call once the secret is cached', async () => {
    // Prepare
    await postStripe();
    const secretReads = secretsMock.commandCalls(GetSecretValueCommand).length;
    sqsMock.resetHistory();

    // Act
    const response = await postStripe({ body: STRIPE_BODY.replace('evt_1Qx', 'evt_2Qx') });

    // Assess
    expect(response.statusCode).toBe(202);
    expect(sqsMock.calls()).toHaveLength(1);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(secretReads);
    expect(s3Mock.calls()).toHaveLength(0);
    expect(emittedMetrics(logs, 'WebhookEnqueued')).toHaveLength(2);
  });

  const signatureCases: [string, VerificationFailure, PostOptions][] = [
    [
      'signature',
      'missing_signature',
      {
        headers: (signed) =>
          Object.fromEntries(Object.entries(signed).filter(([name]) => name !== STRIPE_HEADER)),
      },
    ],
    ['signature', 'malformed_signature', { headers: (signed) => ({ ...signed, [STRIPE_HEADER]: 'v1' }) }],
    [
      'signature',
      'duplicate_header',
      {
        headers: (signed) => ({
          ...signed,
          [STRIPE_HEADER]: [signed[STRIPE_HEADER] ?? '', signed[STRIPE_HEADER] ?? ''],
        }),
      },
    ],
    ['signature', 'signature_mismatch', { secret: 'whsec_someone_else' }],
    ['stale', 'stale_timestamp', { timestamp: NOW_SECONDS - 301 }],
  ];
  it.each(signatureCases)(
    'counts a 401 as WebhookRejected with reason %s (%s)',
    async (reason, failure, options) => {
      // Act
      const response = await postStripe(options);

      // Assess
      expect(response.statusCode).toBe(401);
      expect(logs.entries().find((entry) => entry.message === 'signature rejected')?.reason).toBe(failure);
      expect(emittedMetrics(logs, 'WebhookRejected')).toEqual([
        {
          name: 'WebhookRejected',
          unit: 'Count',
          value: 1,
          namespace: 'Switchyard',
          dimensionSets: [dimensionSet('service', 'source', 'reason')],
          dimensions: { service: SERVICE, source: 'stripe', reason },
        },
      ]);
      expect(emittedMetrics(logs, 'WebhookReceived')).toHaveLength(1);
      expect(emittedMetrics(logs, 'WebhookEnqueued')).toEqual([]);
      expect(emittedMetrics(logs, 'AckLatency')).toEqual([]);
    },
  );

  const otherCases: [string, number, PostOptions][] = [
    ['size', 413, { body: JSON.stringify({ id: 'evt_big', type: 't', pad: 'x'.repeat(5000) }) }],
    ['media_type', 415, { headers: (signed) => ({ ...signed, 'Content-Type': 'text/plain' }) }],
    ['payload', 400, { body: '{"type":"checkout.session.completed"}' }],
    ['payload', 400, { body: '{"id":"evt_1",' }],
  ];
  it.each(otherCases)(
    'counts a %s rejection (%i) as WebhookRejected with that reason',
    async (reason, status, options) => {
      // Act
      const response = await postStripe(options);

      // Assess
      expect(response.statusCode).toBe(status);
      expect(emittedMetrics(logs, 'WebhookRejected')).toEqual([
        expect.objectContaining({
          value: 1,
          dimensionSets: [dimensionSet('service', 'source', 'reason')],
          dimensions: { service: SERVICE, source: 'stripe', reason },
        }),
      ]);
      expect(emittedMetrics(logs, 'WebhookEnqueued')).toEqual([]);
    },
  );

  it('counts an event the queue did not confirm as EnqueueFailed, not as enqueued', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).rejects(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));

    // Act
    const response = await postStripe();

    // Assess
    expect(response.statusCode).toBe(503);
    expect(emittedMetrics(logs, 'EnqueueFailed')).toEqual([
      expect.objectContaining({
        unit: 'Count',
        value: 1,
        dimensionSets: [dimensionSet('service', 'source')],
        dimensions: { service: SERVICE, source: 'stripe' },
      }),
    ]);
    expect(emittedMetrics(logs, 'WebhookEnqueued')).toEqual([]);
    expect(emittedMetrics(logs, 'AckLatency')).toEqual([]);
    expect(emittedMetrics(logs, 'WebhookRejected')).toEqual([]);
  });

  it('counts nothing per source for an unknown source, whose name is the caller’s to choose', async () => {
    // Act
    const response = await handler(
      webhookEvent({ source: 'x'.repeat(40), body: '{}', headers: { 'Content-Type': 'application/json' } }),
      lambdaContext(),
    );

    // Assess
    expect(response.statusCode).toBe(404);
    expect(emittedMetrics(logs).filter((metric) => 'source' in metric.dimensions)).toEqual([]);
  });

  it('puts the event key and the X-Ray trace id on the log lines written once the event is identified', async () => {
    // Act
    await postStripe();

    // Assess
    const accepted = logs.entries().find((entry) => entry.message === 'webhook accepted');
    expect(accepted).toMatchObject({
      eventKey: 'stripe:evt_1QxD8rLkdIwHu7ix6mQ0Zb3T',
      xray_trace_id: '1-6920b240-5f1c2d3e4a5b6c7d8e9f0a1b',
    });
  });
});
