/**
 * The environment each handler reads (and checks) at import, stubbed with `vi.stubEnv`.
 * Call before the dynamic `import()` of the handler; `vi.unstubAllEnvs()` undoes it.
 * `overrides` replace or add variables; a value of `undefined` leaves that variable unstubbed.
 */
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { vi } from 'vitest';

type EnvOverrides = Record<string, string | undefined>;

export const IDEMPOTENCY_TABLE = 'switchyard-idempotency';
export const LEDGER_TABLE = 'switchyard-ledger';
export const GUARD_TABLE = 'switchyard-guards';
/** 30 days, in seconds. */
const LEDGER_RETENTION_SECONDS = '2592000';

function stubAll(variables: EnvOverrides): void {
  for (const [name, value] of Object.entries(variables)) {
    if (value !== undefined) vi.stubEnv(name, value);
  }
}

/** The router (functions/router/handler.ts): routes stripe events only unless `MAPPERS` is overridden. */
export function stubRouterEnv(overrides: EnvOverrides = {}): void {
  stubAll({
    EVENT_BUS_NAME: 'switchyard-events',
    QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/switchyard-inbox',
    MAPPERS: JSON.stringify({ stripe: 'stripe' }),
    IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE,
    REDELIVERY_BASE_SECONDS: '2',
    REDELIVERY_CAP_SECONDS: '60',
    MAX_RECEIVE_COUNT: '5',
    LEDGER_TABLE_NAME: LEDGER_TABLE,
    LEDGER_RETENTION_SECONDS,
    AWS_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: 'switchyard-router',
    POWERTOOLS_SERVICE_NAME: 'switchyard-router',
    POWERTOOLS_METRICS_NAMESPACE: 'Switchyard',
    ...overrides,
  });
}

/** The ingest function (functions/ingest/handler.ts); `SOURCES` is each test's own. */
export function stubIngestEnv(overrides: EnvOverrides & { SOURCES: string }): void {
  stubAll({
    SECRET_CACHE_SECONDS: '300',
    SECRET_STALE_SECONDS: '900',
    INBOX_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/switchyard-inbox',
    PAYLOAD_BUCKET_NAME: 'switchyard-payloads',
    AWS_REGION: 'eu-west-1',
    POWERTOOLS_SERVICE_NAME: 'switchyard-ingest',
    POWERTOOLS_METRICS_NAMESPACE: 'Switchyard',
    ...overrides,
  });
}

/** The email-sync connector (functions/email-sync/handler.ts), calling the downstream at `DOWNSTREAM_BASE_URL`. */
export function stubEmailSyncEnv(overrides: EnvOverrides & { DOWNSTREAM_BASE_URL: string }): void {
  stubAll({
    QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/switchyard-email-sync',
    IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE,
    GUARD_TABLE_NAME: GUARD_TABLE,
    DOWNSTREAM_GUARD: JSON.stringify({ system: 'email' }),
    VERSIONS_TABLE_NAME: 'switchyard-versions',
    REDELIVERY_BASE_SECONDS: '5',
    REDELIVERY_CAP_SECONDS: '300',
    MAX_RECEIVE_COUNT: '5',
    LEDGER_TABLE_NAME: LEDGER_TABLE,
    LEDGER_RETENTION_SECONDS,
    AWS_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: 'switchyard-email-sync',
    POWERTOOLS_SERVICE_NAME: 'switchyard-email-sync',
    POWERTOOLS_METRICS_NAMESPACE: 'Switchyard',
    ...overrides,
  });
}

/**
 * The order-paid flow starter (functions/flow-starter/handler.ts). The starter takes its flow's name,
 * the `flow` metric dimension, from `<flow>-starter`.
 */
export function stubFlowStarterEnv(overrides: EnvOverrides & { STATE_MACHINE_ARN: string }): void {
  stubAll({
    QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/starts',
    REDELIVERY_BASE_SECONDS: '1',
    REDELIVERY_CAP_SECONDS: '4',
    MAX_RECEIVE_COUNT: '5',
    LEDGER_TABLE_NAME: LEDGER_TABLE,
    LEDGER_RETENTION_SECONDS,
    POWERTOOLS_SERVICE_NAME: 'order-paid-starter',
    FLOW_NAME: 'order-paid',
    POWERTOOLS_METRICS_NAMESPACE: 'Switchyard',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...overrides,
  });
}

/** The order-paid steps (functions/steps/*.ts), calling the accounting downstream at `DOWNSTREAM_BASE_URL`. */
export function stubStepEnv(overrides: EnvOverrides & { DOWNSTREAM_BASE_URL: string }): void {
  stubAll({
    IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE,
    LEDGER_TABLE_NAME: LEDGER_TABLE,
    LEDGER_RETENTION_SECONDS,
    GUARD_TABLE_NAME: GUARD_TABLE,
    DOWNSTREAM_GUARD: JSON.stringify({ system: 'accounting' }),
    AWS_REGION: 'eu-west-1',
    POWERTOOLS_METRICS_NAMESPACE: 'Switchyard',
    ...overrides,
  });
}

export type RouterHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
export type IngestHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** The router's handler, imported afresh: call after `stubRouterEnv`, as the handler reads it at import. */
export async function loadRouterHandler(): Promise<RouterHandler> {
  vi.resetModules();
  return ((await import('../../../functions/router/handler.js')) as unknown as { handler: RouterHandler })
    .handler;
}

/** The ingest handler, imported afresh: call after `stubIngestEnv`, as the handler reads it at import. */
export async function loadIngestHandler(): Promise<IngestHandler> {
  vi.resetModules();
  return ((await import('../../../functions/ingest/handler.js')) as unknown as { handler: IngestHandler })
    .handler;
}
