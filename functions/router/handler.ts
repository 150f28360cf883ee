/**
 * Router function on the inbox queue. Per record: deduplicate on the vendor's event id (`source:eventId`,
 * Powertools idempotency in DynamoDB, kept 14 days), read a claim-checked body from S3, map the vendor payload
 * to its canonical event with the source's mapper, and put it on the event bus; an event no route takes is
 * put on the bus as `webhook.unrouted`, so the archive keeps it. Failed records are reported individually (`ReportBatchItemFailures`) and backed off;
 * after `maxReceiveCount` receives SQS moves them to the inbox dead-letter queue.
 *
 * Metrics, each `[service, source, eventType]` with the vendor's event type: `EventRouted`, `EventUnrouted`,
 * and `DuplicateDropped` for a redelivery answered from its stored record. Every log line of a record
 * carries its event key.
 *
 * Event ledger (functions/shared/ledger.ts), written once per batch after the records, best effort:
 * `received`, `enqueued`, then `routed`, `unrouted` or `duplicate`, or `dead-lettered` on the last receive.
 */
import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
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
import { Dimension, HubMetric } from '../shared/hub-metrics.js';
import { type LedgerEntry, LedgerStage, ledgerFromEnvironment, rootTraceId } from '../shared/ledger.js';
import { emitMetric, instrument, logger, metrics, tracer, withEventKey } from '../shared/powertools.js';
import { onLastReceive, processQueueBatch } from '../shared/redelivery.js';
import { RouterSources } from '../sources.js';

const busName = requiredEnv('EVENT_BUS_NAME');
const mappers = jsonEnv('MAPPERS', RouterSources);
const queueUrl = requiredEnv('QUEUE_URL');
const redelivery = {
  baseSeconds: Number(requiredEnv('REDELIVERY_BASE_SECONDS')),
  capSeconds: Number(requiredEnv('REDELIVERY_CAP_SECONDS')),
};
const maxReceiveCount = Number(requiredEnv('MAX_RECEIVE_COUNT'));
const ledger = ledgerFromEnvironment(tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(1000))), {
  logger,
  metrics,
  tracer,
});

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
  // Powertools calls this only when it answers from a COMPLETED record instead of running the function
  // (https://docs.aws.amazon.com/powertools/typescript/latest/features/idempotency/#manipulating-the-idempotent-response):
  // the mark tells a dropped duplicate from a routed event, per call, however many records run at once.
  responseHook: (response) => ({ ...(response as { detailType: string }), duplicate: true }),
});

/** What `routeOnce` answers: the detail type published, and `duplicate` when it was published before. */
interface RouteResult {
  detailType: string;
  duplicate?: true;
}

/** Publishes the canonical event of one vendor event, at most once per event key. */
const routeOnce = makeIdempotent(
  async ({ eventKey, envelope }: { eventKey: string; envelope: InboxEnvelope }): Promise<RouteResult> => {
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
    // Counted once the bus has the event, under the vendor's type (the detail type is implied by it).
    count(
      event.detailType === DetailType.Unrouted ? HubMetric.EventUnrouted : HubMetric.EventRouted,
      envelope,
    );
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

/** Counts one event under `[service, source, eventType]`, the vendor's event type. */
function count(metric: string, envelope: InboxEnvelope): void {
  emitMetric(metric, MetricUnit.Count, 1, {
    [Dimension.source]: envelope.source,
    [Dimension.eventType]: envelope.eventType,
  });
}

/**
 * Routes one record and adds its ledger entries to `entries`: `received` and `enqueued` (at the ingest's and
 * SQS's times, in the ingest's trace; a redelivered record rewrites the same two entries), then `routed`,
 * `unrouted` or `duplicate`, or `dead-lettered` when it fails on its last receive.
 */
async function routeRecord(record: SQSRecord, entries: LedgerEntry[]): Promise<void> {
  const parsed = InboxEnvelope.safeParse(safeJson(record.body));
  if (!parsed.success) throw new MappingError('inbox message is not an envelope');
  const envelope = parsed.data;
  const eventKey = eventKeyOf(envelope);
  const { eventType } = envelope;
  const ingestTraceId = rootTraceId(record.attributes.AWSTraceHeader);
  entries.push(
    { eventKey, stage: LedgerStage.received, at: envelope.receivedAt, eventType, traceId: ingestTraceId },
    {
      eventKey,
      stage: LedgerStage.enqueued,
      at: Number(record.attributes.SentTimestamp),
      eventType,
      traceId: ingestTraceId,
    },
  );
  await withEventKey(eventKey, async () => {
    // Before the PutEvents: a target may receive the event before the call returns, and the stage must not
    // seem to follow what it caused.
    const at = new Date();
    try {
      const result = await routeOnce({ eventKey, envelope });
      entries.push(
        result.duplicate
          ? {
              eventKey,
              stage: LedgerStage.duplicate,
              at,
              eventType,
              details: { detailType: result.detailType },
            }
          : result.detailType === DetailType.Unrouted
            ? { eventKey, stage: LedgerStage.unrouted, at, eventType }
            : { eventKey, stage: LedgerStage.routed, at, eventType: result.detailType },
      );
      if (result.duplicate) {
        logger.info('duplicate dropped: the event was routed before', { detailType: result.detailType });
        count(HubMetric.DuplicateDropped, envelope);
      }
    } catch (error) {
      logger.warn('record failed', {
        eventKey,
        errorName: (error as Error).name,
        error: (error as Error).message,
      });
      if (onLastReceive(record, maxReceiveCount)) {
        entries.push({
          eventKey,
          stage: LedgerStage.deadLettered,
          at: new Date(),
          eventType,
          details: {
            queue: 'inbox',
            errorName: (error as Error).name,
            receiveCount: Number(record.attributes.ApproximateReceiveCount),
          },
        });
      }
      throw error;
    }
  });
}

export const handler = instrument(async (event: SQSEvent, context) => {
  idempotency.registerLambdaContext(context);
  return processQueueBatch(event, context, routeRecord, { processor, sqs, queueUrl, redelivery, ledger });
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
