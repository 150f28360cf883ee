/**
 * Part of `npm run bench`: the router function's throughput, in-process and warm. The real handler
 * (functions/router/handler.ts: Powertools batch processing and idempotency, the Stripe mapper, the event
 * ledger) routes SQS batches of a realistic Stripe `checkout.session.completed` event, each record with its own
 * event id; AWS is stubbed at the SDK boundary (aws-sdk-client-mock), resolving at once: DynamoDB behaves as
 * the idempotency table (PutItem of a new key succeeds, UpdateItem completes it; test/unit/support), and
 * PutEvents, the ledger's BatchWriteItem and SQS succeed. So the figure is the function's own work per record,
 * without the network (with it, a record waits on two DynamoDB writes and one PutEvents).
 *
 * Figure: records per second for batches of 1, 10 and 100 records (one handler invocation per batch, awaited
 * in turn, as Lambda invokes one execution environment), and process CPU per record.
 *
 * Noise is kept down by: the same records every run (the table is emptied before each window, so every record
 * is new), a warm-up window per batch size before any is measured, rounds interleaving the batch sizes, a full
 * garbage collection before each window, log output built but not written, and the figures of each batch
 * size's best round (highest records per second; CPU the median of the rounds): the noise of a shared machine
 * only slows a window down, so the best round is the one least disturbed.
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { BatchWriteItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { InboxEnvelope } from '../functions/contracts.js';
import { fakeIdempotencyTable } from '../test/unit/support/idempotency-table.js';
import { fixtureText, lambdaContext, sqsEvent, sqsRecord } from '../test/unit/support/lambda.js';
import { collectGarbage, median, pinEnvironment, withOutputDropped } from './in-process.js';
import { type BenchContext, type BenchSection, round } from './section.js';

export interface RouterBenchResults {
  /** Records routed per second, by batch size (records per invocation). */
  recordsPerSecond: { '1': number; '10': number; '100': number };
  /** Process CPU (user + system, all threads) per record, ms, by batch size: the median of the rounds. */
  cpuMsPerRecord: { '1': number; '10': number; '100': number };
  /** Mocked AWS commands per record, by batch size: 2 DynamoDB writes, 1 PutEvents, the ledger's batch writes. */
  awsCallsPerRecord: { '1': number; '10': number; '100': number };
  /** Records routed per round and batch size. */
  recordsPerRound: number;
  rounds: number;
  /** The machine's 1-minute load average when the part started: above its core count, figures are noisy. */
  loadAverage1m: number;
}

const BATCH_SIZES = ['1', '10', '100'] as const;
type BatchSize = (typeof BATCH_SIZES)[number];
/** Records per window: 1,000 invocations of one record, 100 of ten, 10 of a hundred. */
const RECORDS_PER_ROUND = 1_000;
const ROUNDS = 7;
const STRIPE_FIXTURE = 'stripe/checkout.session.completed.json';
const FIXTURE_EVENT_ID = 'evt_1QxD8rLkdIwHu7ix6mQ0Zb3T';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * Measures the router handler for batches of 1, 10 and 100 records; see the module's docstring.
 * @throws Error when a record fails or a batch does not publish one event per record
 */
export async function routerBench(ctx: BenchContext): Promise<BenchSection<RouterBenchResults>> {
  const loadAverage1m = round(loadavg()[0] ?? Number.NaN, 2);
  const restoreEnvironment = pinEnvironment({
    EVENT_BUS_NAME: 'switchyard-events',
    QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/switchyard-inbox',
    MAPPERS: JSON.stringify({ stripe: 'stripe', shopify: 'shopify', github: 'github', crm: 'crm' }),
    IDEMPOTENCY_TABLE_NAME: 'switchyard-idempotency',
    REDELIVERY_BASE_SECONDS: '2',
    REDELIVERY_CAP_SECONDS: '60',
    MAX_RECEIVE_COUNT: '5',
    LEDGER_TABLE_NAME: 'switchyard-ledger',
    LEDGER_RETENTION_SECONDS: '2592000',
    AWS_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: 'switchyard-router',
    POWERTOOLS_SERVICE_NAME: 'router',
    POWERTOOLS_METRICS_NAMESPACE: 'Switchyard',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_DEV: undefined,
  });
  const dynamoMock = mockClient(DynamoDBClient);
  const eventBridgeMock = mockClient(EventBridgeClient);
  // Nothing is claim checked: a GetObject would fail the record, and the bench with it.
  const mocks = [dynamoMock, eventBridgeMock, mockClient(SQSClient), mockClient(S3Client)] as const;
  const [, , sqsMock] = mocks;
  try {
    const table = fakeIdempotencyTable(dynamoMock);
    dynamoMock.on(GetItemCommand).callsFake((input: { Key: { id?: { S?: string } } }) => ({
      Item: table.items.get(input.Key.id?.S ?? ''),
    }));
    dynamoMock.on(BatchWriteItemCommand).resolves({ UnprocessedItems: {} });
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'bench' }] });
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    const { handler } = (await import('../functions/router/handler.js')) as unknown as { handler: Handler };
    const context = lambdaContext('switchyard-router');

    const records = stripeRecords(RECORDS_PER_ROUND);
    const batches = Object.fromEntries(
      BATCH_SIZES.map((size) => {
        const perBatch = Number(size);
        const events: SQSEvent[] = [];
        for (let start = 0; start < records.length; start += perBatch) {
          events.push(sqsEvent(records.slice(start, start + perBatch)));
        }
        return [size, events];
      }),
    ) as Record<BatchSize, SQSEvent[]>;

    /** Routes every record once in batches of `size`; returns records per second, CPU and AWS calls per record. */
    const routeAll = async (size: BatchSize) => {
      table.items.clear();
      for (const mock of mocks) mock.resetHistory();
      collectGarbage();
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      for (const event of batches[size]) {
        const response = await handler(event, context);
        if (response.batchItemFailures.length > 0) {
          throw new Error(
            `router: ${response.batchItemFailures.length} record(s) failed in a batch of ${size}`,
          );
        }
      }
      const elapsedMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const published = eventBridgeMock.commandCalls(PutEventsCommand).length;
      if (published !== records.length) {
        throw new Error(`router: ${published} events published for ${records.length} records`);
      }
      const awsCalls = mocks.reduce((sum, mock) => sum + mock.calls().length, 0);
      return {
        recordsPerSecond: (records.length / elapsedMs) * 1000,
        cpuMsPerRecord: (cpu.user + cpu.system) / 1000 / records.length,
        awsCallsPerRecord: awsCalls / records.length,
      };
    };

    ctx.log(`router: warm-up, ${BATCH_SIZES.length} batch sizes`);
    await withOutputDropped(async () => {
      for (const size of BATCH_SIZES) await routeAll(size);
    });
    const measured: Record<BatchSize, Awaited<ReturnType<typeof routeAll>>[]> = {
      '1': [],
      '10': [],
      '100': [],
    };
    for (let roundIndex = 1; roundIndex <= ROUNDS; roundIndex += 1) {
      ctx.log(`router: round ${roundIndex} of ${ROUNDS}`);
      await withOutputDropped(async () => {
        for (const size of BATCH_SIZES) measured[size].push(await routeAll(size));
      });
    }

    const bySize = (figure: (size: BatchSize) => number) =>
      Object.fromEntries(BATCH_SIZES.map((size) => [size, figure(size)])) as Record<BatchSize, number>;
    const results: RouterBenchResults = {
      recordsPerSecond: bySize((size) =>
        Math.round(Math.max(...measured[size].map((m) => m.recordsPerSecond))),
      ),
      cpuMsPerRecord: bySize((size) => round(median(measured[size].map((m) => m.cpuMsPerRecord)), 3)),
      awsCallsPerRecord: bySize((size) => round(median(measured[size].map((m) => m.awsCallsPerRecord)), 2)),
      recordsPerRound: RECORDS_PER_ROUND,
      rounds: ROUNDS,
      loadAverage1m,
    };
    return {
      results,
      tables: [
        {
          title: `router handler, Stripe checkout records (warm, AWS stubbed; ${RECORDS_PER_ROUND} records a round, best of ${ROUNDS} rounds, CPU their median; load average ${loadAverage1m})`,
          columns: [
            'records per batch',
            'invocations a round',
            'records/s',
            'CPU ms/record',
            'AWS calls/record',
          ],
          rows: BATCH_SIZES.map((size) => [
            Number(size),
            batches[size].length,
            results.recordsPerSecond[size],
            results.cpuMsPerRecord[size],
            results.awsCallsPerRecord[size],
          ]),
        },
      ],
    };
  } finally {
    for (const mock of mocks) mock.restore();
    restoreEnvironment();
  }
}

/**
 * `count` inbox records of the Stripe checkout fixture, the same every run, each with its own event id (in the
 * envelope and the body) and message id.
 */
function stripeRecords(count: number) {
  const fixture = fixtureText(STRIPE_FIXTURE);
  return Array.from({ length: count }, (_, index) => {
    const eventId = `evt_bench${String(index).padStart(17, '0')}`;
    const body = fixture.replace(FIXTURE_EVENT_ID, eventId);
    const envelope: InboxEnvelope = {
      source: 'stripe',
      eventId,
      eventType: 'checkout.session.completed',
      receivedAt: '2025-11-21T12:00:01.000Z',
      bodySha256: createHash('sha256').update(body).digest('hex'),
      body,
    };
    return sqsRecord(JSON.stringify(envelope), { messageId: `bench-${index}` });
  });
}
