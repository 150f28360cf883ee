/**
 * Router function on the inbox queue. Per record: deduplicate on the vendor's event id (`source:eventId`,
 * Powertools idempotency in DynamoDB, kept 14 days), map the vendor payload to its canonical event, and put
 * it on the event bus. Failed records are reported individually (`ReportBatchItemFailures`) and backed off;
 * after `maxReceiveCount` receives SQS moves them to the inbox dead-letter queue.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { EVENT_SOURCE_PREFIX, eventKeyOf, InboxEnvelope, validateCanonicalEvent } from '../contracts.js';
import { toCanonicalEvent } from '../mappers/index.js';
import { clientConfig } from '../shared/aws.js';
import { requiredEnv } from '../shared/env.js';
import { MappingError } from '../shared/errors.js';
import { instrument, logger, metrics, tracer } from '../shared/powertools.js';
import { backOffFailedRecords } from '../shared/redelivery.js';

const busName = requiredEnv('EVENT_BUS_NAME');
const queueUrl = requiredEnv('QUEUE_URL');
const redelivery = {
  baseSeconds: Number(requiredEnv('REDELIVERY_BASE_SECONDS')),
  capSeconds: Number(requiredEnv('REDELIVERY_CAP_SECONDS')),
};

/** Deduplication records live 14 days: longer than Stripe's 3 days of retries and SQS's 14-day retention. */
export const DEDUPLICATION_WINDOW_SECONDS = 14 * 24 * 3600;

const eventBridge = tracer.captureAWSv3Client(new EventBridgeClient(clientConfig(2000)));
const sqs = tracer.captureAWSv3Client(new SQSClient(clientConfig(2000)));
const processor = new BatchProcessor(EventType.SQS);
const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: 'eventKey',
  expiresAfterSeconds: DEDUPLICATION_WINDOW_SECONDS,
  throwOnNoIdempotencyKey: true,
});

/** Publishes the canonical event of one vendor event, at most once per event key. */
const routeOnce = makeIdempotent(
  async ({ envelope }: { eventKey: string; envelope: InboxEnvelope }) => {
    const event = toCanonicalEvent(envelope);
    if (!event) {
      metrics.addMetric('EventUnrouted', MetricUnit.Count, 1);
      logger.info('event type has no route', { eventType: envelope.eventType });
      return { routed: false };
    }
    validateCanonicalEvent(event);
    const result = await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: busName,
            Source: `${EVENT_SOURCE_PREFIX}${event.source}`,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
          },
        ],
      }),
    );
    if (result.FailedEntryCount) {
      throw new Error(`PutEvents refused the event: ${result.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
    }
    metrics.addMetric('EventRouted', MetricUnit.Count, 1);
    return { routed: true, detailType: event.detailType };
  },
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: requiredEnv('IDEMPOTENCY_TABLE_NAME'),
      awsSdkV3Client: tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(2000))),
    }),
    config: idempotency,
  },
);

async function routeRecord(record: SQSRecord): Promise<void> {
  const parsed = InboxEnvelope.safeParse(safeJson(record.body));
  if (!parsed.success) throw new MappingError('inbox message is not an envelope');
  const eventKey = eventKeyOf(parsed.data);
  try {
    await routeOnce({ eventKey, envelope: parsed.data });
  } catch (error) {
    logger.warn('record failed', {
      eventKey,
      errorName: (error as Error).name,
      error: (error as Error).message,
    });
    throw error;
  }
}

export const handler = instrument(async (event: SQSEvent, context) => {
  idempotency.registerLambdaContext(context);
  const response = await processPartialResponse(event, routeRecord, processor, {
    context,
    throwOnFullBatchFailure: false,
  });
  await backOffFailedRecords(sqs, queueUrl, event.Records, response, redelivery);
  return response;
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
