import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReconcileSummary } from '../../functions/reconcile/handler.js';
import { json, startServer, type TestServer } from './support/http-server.js';
import { lambdaContext } from './support/lambda.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchyard/github-token-AbCdEf';
const TOKEN = 'github_pat_11ABCDEFG0_handler_test_token';
const HOOK_PATH = '/repos/octo-org/switchyard-demo/hooks/4242/deliveries';

const secretsMock = mockClient(SecretsManagerClient);

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<ReconcileSummary>;

/** A scheduled event as EventBridge sends it. */
const scheduledEvent = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  time: '2026-11-21T12:00:00Z',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/switchyard-reconcile'],
  detail: {},
};

function delivery(id: number, guid: string, statusCode: number, minutesAgo = 5) {
  return {
    id,
    guid,
    delivered_at: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    redelivery: false,
    status: statusCode === 202 ? 'OK' : `Invalid HTTP Response: ${statusCode}`,
    status_code: statusCode,
    event: 'push',
    action: null,
  };
}

/** Names and values of the metrics emitted (embedded metric format lines). */
function metricsIn(logs: CapturedLogs): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const entry of logs.entries().filter((line) => line._aws !== undefined)) {
    const groups = (entry._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics;
    for (const metric of groups.flatMap((group) => group.Metrics)) values[metric.Name] = entry[metric.Name];
  }
  return values;
}

describe('reconcile handler', () => {
  let logs: CapturedLogs;
  let github: TestServer;
  let listStatus: number;
  let handler: Handler;

  beforeEach(async () => {
    listStatus = 200;
    github = await startServer((request, response) => {
      if (request.method === 'GET' && request.path.startsWith(HOOK_PATH)) {
        if (listStatus !== 200) return json(response, listStatus, { message: 'Bad credentials' });
        return json(response, 200, [delivery(2, 'missing-guid', 503), delivery(1, 'fine-guid', 202)]);
      }
      if (request.method === 'POST' && request.path === `${HOOK_PATH}/2/attempts`) {
        return json(response, 202, {});
      }
      json(response, 404, { message: 'Not Found' });
    });
    vi.stubEnv(
      'RECONCILE_SETTINGS',
      JSON.stringify({
        source: 'github',
        hook: { owner: 'octo-org', repo: 'switchyard-demo', hookId: 4242, apiBaseUrl: github.baseUrl },
        lookBackMinutes: 120,
        maxRedeliveriesPerRun: 50,
        maxAttemptsPerEvent: 6,
      }),
    );
    vi.stubEnv('TOKEN_SECRET_ARN', SECRET_ARN);
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'reconcile-github');
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Switchyard');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
    secretsMock.reset();
    secretsMock.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: TOKEN });
    logs = captureLogs();
    vi.resetModules();
    ({ handler } = (await import('../../functions/reconcile/handler.js')) as unknown as { handler: Handler });
  });

  afterEach(async () => {
    logs.restore();
    vi.unstubAllEnvs();
    await github.close();
  });

  it('redelivers the missing event, counts it, and returns what it did', async () => {
    // Act
    const summary = await handler(scheduledEvent, lambdaContext('switchyard-reconcile', 120_000));

    // Assess
    expect(summary).toEqual({
      status: 'done',
      listed: 2,
      complete: true,
      missing: 1,
      redelivered: ['missing-guid'],
      failed: [],
      deferred: [],
      gaveUp: [],
    });
    expect(
      github.requests.filter((request) => request.method === 'POST').map((request) => request.path),
    ).toEqual([`${HOOK_PATH}/2/attempts`]);
    expect(metricsIn(logs)).toMatchObject({
      ReconcileMissing: 1,
      ReconcileRedelivered: 1,
      ReconcileFailed: 0,
      ReconcileDeferred: 0,
      ReconcileGaveUp: 0,
    });
    // The alarm watches ReconcileMissing with exactly the dimension `service` (lib/delivery-reconciliation.ts)
    const line = logs.entries().find((entry) => 'ReconcileMissing' in entry);
    expect(line).toMatchObject({
      service: 'reconcile-github',
      _aws: { CloudWatchMetrics: [{ Namespace: 'Switchyard', Dimensions: [['service']] }] },
    });
    expect(logs.entries().find((entry) => entry.message === 'redelivery requested')).toMatchObject({
      guid: 'missing-guid',
      deliveryId: 2,
      lastStatus: 503,
    });
  });

  it('never writes the token to a log line', async () => {
    // Act
    await handler(scheduledEvent, lambdaContext('switchyard-reconcile', 120_000));

    // Assess
    expect(github.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(logs.text()).not.toContain(TOKEN);
  });

  it('reads a token stored as JSON {"token"}', async () => {
    // Prepare
    secretsMock
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .resolves({ SecretString: JSON.stringify({ token: TOKEN }) });

    // Act
    const summary = await handler(scheduledEvent, lambdaContext('switchyard-reconcile', 120_000));

    // Assess
    expect(summary).toMatchObject({ status: 'done', redelivered: ['missing-guid'] });
  });

  it('does nothing but warn while the token secret holds the placeholder', async () => {
    // Prepare
    secretsMock
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .resolves({ SecretString: JSON.stringify({ status: 'unset', placeholder: 'Zx9' }) });

    // Act
    const summary = await handler(scheduledEvent, lambdaContext('switchyard-reconcile', 120_000));

    // Assess
    expect(summary).toEqual({ status: 'token-unset' });
    expect(github.requests).toEqual([]);
    expect(
      logs.entries().some((entry) => entry.level === 'WARN' && /token not set/.test(String(entry.message))),
    ).toBe(true);
    expect(logs.entries().some((entry) => entry.level === 'ERROR')).toBe(false);
  });

  it('fails the run with an error log naming the hook when GitHub refuses the token', async () => {
    // Prepare
    listStatus = 401;

    // Act
    const run = handler(scheduledEvent, lambdaContext('switchyard-reconcile', 120_000));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'GitHubAccessError', status: 401 });
    const error = logs.entries().find((entry) => entry.level === 'ERROR');
    expect(error?.message).toContain('GitHub refused access to octo-org/switchyard-demo hook 4242');
    expect(logs.text()).not.toContain(TOKEN);
  });

  it('fails the run when GitHub stays unavailable, so the next scheduled run tries again', async () => {
    // Prepare
    listStatus = 503;

    // Act
    const run = handler(scheduledEvent, lambdaContext('switchyard-reconcile', 120_000));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'GitHubUnavailableError' });
    expect(github.requests.filter((request) => request.method === 'GET')).toHaveLength(2);
  });

  it('fails the run when the token secret cannot be read', async () => {
    // Prepare
    secretsMock
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('down'), { name: 'InternalServiceError' }));

    // Act
    const run = handler(scheduledEvent, lambdaContext('switchyard-reconcile', 120_000));

    // Assess
    await expect(run).rejects.toThrow();
    expect(github.requests).toEqual([]);
    expect(logs.entries().find((entry) => entry.level === 'ERROR')?.message).toBe(
      'GitHub API token unavailable',
    );
  });
});
