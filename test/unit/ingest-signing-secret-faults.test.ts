/**
 * The ingest handler while Secrets Manager fails (F3: serve the last good secret up to the stale limit, else
 * 503) and while a secret rotates (F4: a signature that matches no cached secret makes one rate-limited
 * refetch). Time is faked; Secrets Manager and SQS are mocked at the SDK boundary.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FORCED_REFETCH_INTERVAL_SECONDS } from '../../functions/ingest/signing-secrets.js';
import { fakeIngestClients } from './support/aws-clients.js';
import { type IngestHandler, loadIngestHandler, stubIngestEnv } from './support/handler-env.js';
import { lambdaContext, webhookEvent } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';
import { vendorHeaders } from './support/vendor-signing.js';

const NOW_SECONDS = 1_763_726_400;
const CACHE_SECONDS = 300;
const STALE_SECONDS = 900;
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchyard/stripe-AbCdEf';
const SECRET = 'whsec_7f3a9c1e5b2d8f4a6c0e9b3d1f5a7c2e';
const ROTATED = 'whsec_d41c8e2a9f7b3e6c1a5d0f8b2e4c7a93';
const SOURCES = {
  stripe: { scheme: 'stripe', secretArn: SECRET_ARN, toleranceSeconds: 300, maxBodyBytes: 4096 },
};

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);

let handler: IngestHandler;

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
const secretReads = () => secretsMock.commandCalls(GetSecretValueCommand).length;
const enqueued = () => sqsMock.commandCalls(SendMessageCommand).length;

/** Moves the clock to `seconds` after the start of the test. */
function at(seconds: number): void {
  vi.setSystemTime((NOW_SECONDS + seconds) * 1000);
}

/** Posts a Stripe event signed now with `secret`, or signed `timestampOffset` seconds away from now. */
async function post(
  options: { secret?: string; timestampOffset?: number } = {},
): Promise<APIGatewayProxyResult> {
  const eventId = `evt_${Math.random().toString(36).slice(2)}`;
  const body = JSON.stringify({ id: eventId, type: 'checkout.session.completed' });
  const headers = await vendorHeaders('stripe', options.secret ?? SECRET, body, {
    timestamp: Math.floor(Date.now() / 1000) + (options.timestampOffset ?? 0),
  });
  return handler(webhookEvent({ source: 'stripe', body, headers }), lambdaContext('switchyard-ingest'));
}

/** Names of the metrics the handler emitted with a value, in order. */
function metricsIn(logs: CapturedLogs): string[] {
  return logs
    .entries()
    .filter((entry) => entry._aws !== undefined)
    .flatMap((entry) =>
      (entry._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics.flatMap(
        (group) => group.Metrics.map((metric) => metric.Name),
      ),
    );
}

describe('ingest handler, signing secret faults', () => {
  let logs: CapturedLogs;

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(0);
    stubIngestEnv({
      SOURCES: JSON.stringify(SOURCES),
      SECRET_CACHE_SECONDS: String(CACHE_SECONDS),
      SECRET_STALE_SECONDS: String(STALE_SECONDS),
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
    fakeIngestClients({ sqs: sqsMock, secretsManager: secretsMock, secrets: { [SECRET_ARN]: SECRET } });
    logs = captureLogs();
    handler = await loadIngestHandler();
  });

  afterEach(() => {
    logs.restore();
    vi.unstubAllEnvs();
    vi.useRealTimers();
  });

  describe('while Secrets Manager fails (F3)', () => {
    it('verifies with the last good secret once the cache has expired, within the stale limit', async () => {
      // Prepare
      await post();
      secretsMock.on(GetSecretValueCommand).rejects(throttled());
      at(CACHE_SECONDS + 1);

      // Act
      const response = await post();

      // Assess
      expect(response.statusCode).toBe(202);
      expect(enqueued()).toBe(2);
      expect(secretReads()).toBe(2);
      expect(metricsIn(logs)).toContain('SigningSecretServedStale');
      expect(metricsIn(logs)).not.toContain('SigningSecretUnavailable');
      const warning = logs.entries().find((entry) => entry.message === 'signing secret served stale');
      expect(warning).toMatchObject({ level: 'WARN', ageSeconds: 301, errorName: 'ThrottlingException' });
      expect(logs.text()).not.toContain(SECRET);
    });

    it('never accepts a forged request while it serves the stale secret', async () => {
      // Prepare
      await post();
      secretsMock.on(GetSecretValueCommand).rejects(throttled());
      at(CACHE_SECONDS + 1);

      // Act: the first mismatch cannot be checked against a refetched secret, the next one is not refetched
      const first = await post({ secret: 'whsec_forger' });
      const second = await post({ secret: 'whsec_forger' });

      // Assess
      expect(first.statusCode).toBe(503);
      expect(second.statusCode).toBe(401);
      expect(enqueued()).toBe(1);
    });

    it('answers 503 with Retry-After once the last good secret is older than the stale limit', async () => {
      // Prepare
      await post();
      secretsMock.on(GetSecretValueCommand).rejects(throttled());
      at(STALE_SECONDS + 1);

      // Act
      const response = await post();

      // Assess
      expect(response.statusCode).toBe(503);
      expect(response.headers?.['retry-after']).toBe('30');
      expect(enqueued()).toBe(1);
      expect(metricsIn(logs)).toContain('SigningSecretUnavailable');
      expect(metricsIn(logs)).not.toContain('SigningSecretServedStale');
    });

    it('answers 503 with Retry-After on a cold start, having no secret to fall back on', async () => {
      // Prepare
      secretsMock.on(GetSecretValueCommand).rejects(throttled());

      // Act
      const response = await post();

      // Assess
      expect(response.statusCode).toBe(503);
      expect(response.headers?.['retry-after']).toBe('30');
      expect(enqueued()).toBe(0);
      expect(metricsIn(logs)).toContain('SigningSecretUnavailable');
    });
  });

  describe('while a secret rotates (F4)', () => {
    it('accepts the first request signed with a rotated secret, by fetching the secret again', async () => {
      // Prepare: the old secret is cached, then the operator rotates
      await post();
      secretsMock.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: ROTATED });
      at(1);

      // Act
      const response = await post({ secret: ROTATED });

      // Assess
      expect(response.statusCode).toBe(202);
      expect(secretReads()).toBe(2);
      expect(secretsMock.commandCalls(GetSecretValueCommand)[1]?.args[0].input.SecretId).toBe(SECRET_ARN);
      expect(metricsIn(logs)).toContain('SigningSecretRefetched');
    });

    it('fetches the secret at most once per interval for forged requests', async () => {
      // Prepare
      await post();

      // Act
      const statuses = [];
      statuses.push((await post({ secret: 'whsec_forger' })).statusCode);
      at(FORCED_REFETCH_INTERVAL_SECONDS - 1);
      statuses.push((await post({ secret: 'whsec_forger' })).statusCode);
      const readsWithinInterval = secretReads();
      at(FORCED_REFETCH_INTERVAL_SECONDS);
      statuses.push((await post({ secret: 'whsec_forger' })).statusCode);

      // Assess
      expect(statuses).toEqual([401, 401, 401]);
      expect(readsWithinInterval).toBe(2);
      expect(secretReads()).toBe(3);
      expect(enqueued()).toBe(1);
    });

    it.each([
      ['a stale timestamp', { timestampOffset: -301 }],
      ['a timestamp from the future', { timestampOffset: 301 }],
    ])('does not fetch the secret again for %s', async (_, options) => {
      // Prepare
      await post();

      // Act
      const response = await post(options);

      // Assess
      expect(response.statusCode).toBe(401);
      expect(secretReads()).toBe(1);
    });

    it('does not fetch the secret again for a request without a signature', async () => {
      // Prepare
      await post();
      const body = JSON.stringify({ id: 'evt_unsigned', type: 'checkout.session.completed' });

      // Act
      const response = await handler(
        webhookEvent({ source: 'stripe', body, headers: { 'Content-Type': 'application/json' } }),
        lambdaContext(),
      );

      // Assess
      expect(response.statusCode).toBe(401);
      expect(secretReads()).toBe(1);
    });

    it('answers 503 with Retry-After, not 401, when the refetch after a mismatch fails', async () => {
      // Prepare
      await post();
      secretsMock.on(GetSecretValueCommand).rejects(throttled());

      // Act
      const response = await post({ secret: ROTATED });

      // Assess
      expect(response.statusCode).toBe(503);
      expect(response.headers?.['retry-after']).toBe('30');
      expect(secretReads()).toBe(2);
      expect(enqueued()).toBe(1);
    });
  });
});
