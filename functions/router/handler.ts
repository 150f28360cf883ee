/**
 * Router function on the inbox queue. Per record: deduplicate on the vendor's event id (`source:eventId`,
 * Powertools idempotency in DynamoDB, kept 14 days), read a claim-checked body from S3, map the vendor payload
 * to its canonical event with the source's mapper, and put it on the event bus; an event no route takes is
 * put on the bus as `webhook.unrouted`, so the archive keeps it. Failed records are reported individually (`ReportBatchItemFailures`) and backed off;
 * after `maxReceiveCount` receives SQS moves them to the inbox dead-letter queue.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import {
  type CanonicalEvent,
  DetailType,
  EVENT_SOURCE_PREFIX,
  eventKeyOf,
  InboxEnvelope,
  validateCanonicalEvent,
} from '../contracts.js';
import { toCanonicalEvent } from '../mappers/index.js';
import { clientConfig, sqsClientConfig } from '../shared/aws.js';
import { jsonEnv, requiredEnv } from '../shared/env.js';
import { MappingError } from '../shared/errors.js';
import { instrument, logger, metrics, tracer } from '../shared/powertools.js';
import { backOffFailedRecords } from '../shared/redelivery.js';
import { RouterSources } from '../sources.js';

const busName = requiredEnv('EVENT_BUS_NAME');
const mappers = jsonEnv('MAPPERS', RouterSources);
const queueUrl = requiredEnv('QUEUE_URL');
const redelivery = {
  baseSeconds: Number(requiredEnv('REDELIVERY_BASE_SECONDS')),
  capSeconds: Number(requiredEnv('REDELIVERY_CAP_SECONDS')),
};

/** Deduplication records live 14 days: longer than Stripe's 3 days of retries and SQS's 14-day retention. */
export const DEDUPLICATION_WINDOW_SECONDS = 14 * 24 * 3600;

const eventBridge = tracer.captureAWSv3Client(new EventBridgeClient(clientConfig(2000)));
const sqs = tracer.captureAWSv3Client(new SQSClient(sqsClientConfig(2000)));
const s3 = tracer.captureAWSv3Client(new S3Client(clientConfig(5000)));
/** Largest raw body copied into a `webhook.unrouted` event, bytes (an event entry takes at most 256 KB). */
const UNROUTED_BODY_LIMIT_BYTES = 128 * 1024;
const processor = new BatchProcessor(EventType.SQS);
const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: 'eventKey',
  // The same event id with another body is refused (IdempotencyValidationError), so it reaches the DLQ.
  payloadValidationJmesPath: 'envelope.bodySha256',
  expiresAfterSeconds: DEDUPLICATION_WINDOW_SECONDS,
  throwOnNoIdempotencyKey: true,
});

/** Publishes the canonical event of one vendor event, at most once per event key. */
const routeOnce = makeIdempotent(
  async ({ eventKey, envelope }: { eventKey: string; envelope: InboxEnvelope }) => {
    const body = envelope.body ?? (await readClaimCheck(envelope));
    const mapper = Object.hasOwn(mappers, envelope.source) ? mappers[envelope.source] : undefined;
    const event: CanonicalEvent = toCanonicalEvent({ ...envelope, body }, mapper) ?? {
      source: envelope.source,
      detailType: DetailType.Unrouted,
      detail: {
        eventKey,
        eventType: envelope.eventType,
        receivedAt: envelope.receivedAt,
        ...(Buffer.byteLength(body) <= UNROUTED_BODY_LIMIT_BYTES
          ? { body }
          : envelope.bodyRef
            ? { bodyRef: envelope.bodyRef }
            : {}),
      },
    };
    if (event.detailType === DetailType.Unrouted) {
      metrics.addMetric('EventUnrouted', MetricUnit.Count, 1);
      logger.info('event type has no route; kept as webhook.unrouted', { eventType: envelope.eventType });
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
    if (event.detailType !== DetailType.Unrouted) metrics.addMetric('EventRouted', MetricUnit.Count, 1);
    return { detailType: event.detailType };
  },
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: requiredEnv('IDEMPOTENCY_TABLE_NAME'),
      awsSdkV3Client: tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(2000))),
    }),
    config: idempotency,
  },
);

/** The body of a claim-checked envelope, from the payload bucket. */
async function readClaimCheck(envelope: InboxEnvelope): Promise<string> {
  if (!envelope.bodyRef) throw new MappingError('envelope has neither body nor bodyRef');
  const object = await s3.send(
    new GetObjectCommand({ Bucket: envelope.bodyRef.bucket, Key: envelope.bodyRef.key }),
  );
  const body = await object.Body?.transformToString('utf-8');
  if (body === undefined) throw new MappingError('claim-checked body is empty');
  return body;
}

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
