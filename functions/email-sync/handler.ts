/**
 * Email-sync consumer: reads canonical contact events (EventBridge events delivered to its queue) and keeps
 * the email platform's subscribers in step with the CRM: created/updated → subscribe or update, deleted →
 * unsubscribe. Each event is applied at most once (Powertools idempotency on its event key), and never after a
 * newer one for the same contact: the contact's `updatedAt` (the CRM's own timestamp) is recorded with a
 * conditional write before the call, so a late, older update is skipped (last writer wins). Failed records
 * are reported individually and backed off, then dead-lettered by SQS. Every log line of a record carries its
 * event key.
 *
 * Event ledger (functions/shared/ledger.ts), written once per batch, best effort: `delivered`, `skipped`,
 * `duplicate`, or `failed` (and `dead-lettered` on the last receive).
 */
import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { guardFromEnvironment } from '../connectors/guard.js';
import { removeSubscriber, upsertSubscriber } from '../connectors/systems.js';
import { ContactChanged, DetailType } from '../contracts.js';
import { clientConfig, sqsClientConfig } from '../shared/aws.js';
import { requiredEnv } from '../shared/env.js';
import { MappingError } from '../shared/errors.js';
import { type LedgerEntry, LedgerStage, ledgerFromEnvironment } from '../shared/ledger.js';
import { instrument, logger, metrics, tracer, withEventKey } from '../shared/powertools.js';
import { onLastReceive, processQueueBatch } from '../shared/redelivery.js';

const baseUrl = requiredEnv('DOWNSTREAM_BASE_URL');
const queueUrl = requiredEnv('QUEUE_URL');
const versionsTable = requiredEnv('VERSIONS_TABLE_NAME');
const redelivery = {
  baseSeconds: Number(requiredEnv('REDELIVERY_BASE_SECONDS')),
  capSeconds: Number(requiredEnv('REDELIVERY_CAP_SECONDS')),
};
const maxReceiveCount = Number(requiredEnv('MAX_RECEIVE_COUNT'));

const ContactEvent = z.object({
  source: z.string().min(1),
  'detail-type': z.enum([DetailType.ContactCreated, DetailType.ContactUpdated, DetailType.ContactDeleted]),
  detail: ContactChanged,
});
type ContactEvent = z.infer<typeof ContactEvent>;

const sqs = tracer.captureAWSv3Client(new SQSClient(sqsClientConfig(2000)));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(2000)));
const guard = guardFromEnvironment(tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(500))));
const ledger = ledgerFromEnvironment(tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(1000))), {
  logger,
  metrics,
  tracer,
});
const processor = new BatchProcessor(EventType.SQS);
const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: 'detail.eventKey',
  expiresAfterSeconds: 14 * 24 * 3600,
  throwOnNoIdempotencyKey: true,
  // Called only when Powertools answers from a COMPLETED record: the mark tells the ledger it was a redelivery.
  responseHook: (response) => ({ ...(response as object), duplicate: true }),
});
let context: Context | undefined;

/**
 * Records `contact.updatedAt` as the contact's applied version unless a newer one is recorded.
 * @returns false when the event is older than what was applied (it must be skipped)
 */
async function claimVersion(source: string, contact: ContactChanged): Promise<boolean> {
  try {
    await dynamodb.send(
      new PutItemCommand({
        TableName: versionsTable,
        Item: { pk: { S: `contact#${source}#${contact.contactId}` }, updatedAt: { S: contact.updatedAt } },
        // ISO 8601 UTC timestamps of one format order as strings; equal means a retry of the same update.
        ConditionExpression: 'attribute_not_exists(pk) OR updatedAt <= :updatedAt',
        ExpressionAttributeValues: { ':updatedAt': { S: contact.updatedAt } },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

const applyOnce = makeIdempotent(
  async (event: ContactEvent) => {
    if (!(await claimVersion(event.source, event.detail))) {
      logger.info('older than the applied version of the contact; skipped', {
        updatedAt: event.detail.updatedAt,
      });
      metrics.addMetric('StaleEventSkipped', MetricUnit.Count, 1);
      return { applied: false };
    }
    await guard.run(async (remainingTimeMs) => {
      const call = { baseUrl, remainingTimeMs, idempotencyKey: `${event.detail.eventKey}:email-sync` };
      if (event['detail-type'] === DetailType.ContactDeleted) await removeSubscriber(call, event.detail);
      else await upsertSubscriber(call, event.detail);
    }, context?.getRemainingTimeInMillis() ?? 10_000);
    return { applied: event['detail-type'] };
  },
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: requiredEnv('IDEMPOTENCY_TABLE_NAME'),
      awsSdkV3Client: tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(2000))),
    }),
    config: idempotency,
  },
);

/** Seconds a failed record of the current batch asked to wait (`retryAfterSeconds` of its error). */
const waitAtLeast = new Map<string, number>();

/**
 * Applies one record and adds its ledger entry to `entries`: `delivered`, `skipped` (older than the applied
 * version), `duplicate`, or `failed` (and `dead-lettered` on its last receive).
 */
async function syncRecord(record: SQSRecord, entries: LedgerEntry[]): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new MappingError('message is not JSON');
  }
  const parsed = ContactEvent.safeParse(body);
  if (!parsed.success) throw new MappingError('message is not a canonical contact event');
  const { eventKey } = parsed.data.detail;
  const eventType = parsed.data['detail-type'];
  try {
    // Records run concurrently: the key goes on this record's log lines only.
    const result: { applied: string | boolean; duplicate?: true } = await withEventKey(eventKey, () =>
      applyOnce(parsed.data),
    );
    const stage = result.duplicate
      ? LedgerStage.duplicate
      : result.applied === false
        ? LedgerStage.skipped
        : LedgerStage.delivered;
    entries.push({ eventKey, stage, at: new Date(), eventType, details: { system: 'email' } });
  } catch (error) {
    // A 429's Retry-After, an open circuit or a spent rate: come back no sooner than asked (F9).
    const { retryAfterSeconds } = error as { retryAfterSeconds?: unknown };
    if (typeof retryAfterSeconds === 'number') waitAtLeast.set(record.messageId, retryAfterSeconds);
    const errorName = (error as Error).name;
    const receiveCount = Number(record.attributes.ApproximateReceiveCount);
    entries.push({
      eventKey,
      stage: LedgerStage.failed,
      at: new Date(),
      eventType,
      details: { errorName, receiveCount },
    });
    if (onLastReceive(record, maxReceiveCount)) {
      entries.push({
        eventKey,
        stage: LedgerStage.deadLettered,
        at: new Date(),
        eventType,
        details: { queue: 'email-sync', errorName, receiveCount },
      });
    }
    throw error;
  }
}

export const handler = instrument(async (event: SQSEvent, lambdaContext: Context) => {
  context = lambdaContext;
  waitAtLeast.clear();
  idempotency.registerLambdaContext(lambdaContext);
  return processQueueBatch(
    event,
    lambdaContext,
    syncRecord,
    { processor, sqs, queueUrl, redelivery, ledger },
    waitAtLeast,
  );
});
