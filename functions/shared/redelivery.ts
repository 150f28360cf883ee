import { type BatchProcessor, processPartialResponse } from '@aws-lambda-powertools/batch';
import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { LedgerEntry } from './ledger.js';

/** SQS's longest visibility timeout, seconds (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html). */
const MAX_VISIBILITY_SECONDS = 43_200;
/** ChangeMessageVisibilityBatch takes at most 10 entries. */
const SQS_BATCH_LIMIT = 10;

/**
 * Delay before the n-th redelivery of a failed record: exponential from `baseSeconds`, capped, with equal
 * jitter so records that failed together do not come back together.
 * @param receiveCount the record's `ApproximateReceiveCount` (1 on first delivery)
 * @param random a number in [0, 1)
 * @returns seconds, an integer in [ceil(d/2), d] where d = min(cap, base·2^(n-1))
 */
export function redeliveryDelaySeconds(
  receiveCount: number,
  baseSeconds: number,
  capSeconds: number,
  random: number,
): number {
  const exponential = Math.min(
    capSeconds,
    baseSeconds * 2 ** Math.max(0, receiveCount - 1),
    MAX_VISIBILITY_SECONDS,
  );
  const half = exponential / 2;
  return Math.ceil(half + random * half);
}

/**
 * Backs off the failed records of a batch: sets each one's visibility timeout to its redelivery delay, so
 * a transient failure is retried in seconds and a lasting one reaches the dead-letter queue after
 * `maxReceiveCount` spaced attempts rather than at the pace of the queue's visibility timeout. A record whose
 * failure asked for a longer wait (a downstream `Retry-After`, an open circuit) waits at least that long.
 * Best effort: if the call fails, the records come back after the queue's visibility timeout as usual.
 *
 * @param waitAtLeast seconds a failed record must wait, by message id
 */
export async function backOffFailedRecords(
  sqs: SQSClient,
  queueUrl: string,
  records: readonly SQSRecord[],
  response: SQSBatchResponse,
  delay: { baseSeconds: number; capSeconds: number },
  waitAtLeast: ReadonlyMap<string, number> = new Map(),
): Promise<void> {
  const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
  const entries = records
    .filter((record) => failed.has(record.messageId))
    .map((record, index) => ({
      Id: String(index),
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: Math.min(
        MAX_VISIBILITY_SECONDS,
        Math.max(
          Math.ceil(waitAtLeast.get(record.messageId) ?? 0),
          redeliveryDelaySeconds(
            Number(record.attributes.ApproximateReceiveCount) || 1,
            delay.baseSeconds,
            delay.capSeconds,
            Math.random(),
          ),
        ),
      ),
    }));
  for (let start = 0; start < entries.length; start += SQS_BATCH_LIMIT) {
    await sqs
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries.slice(start, start + SQS_BATCH_LIMIT),
        }),
      )
      .catch(() => undefined);
  }
}

/**
 * Whether `record` is on its last receive: if it fails now, SQS moves it to the dead-letter queue instead of
 * delivering it again (its `ApproximateReceiveCount` has reached the queue's `maxReceiveCount`;
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
 * @param maxReceiveCount the queue's redrive policy `maxReceiveCount` (env `MAX_RECEIVE_COUNT`)
 */
export function onLastReceive(record: SQSRecord, maxReceiveCount: number): boolean {
  return (Number(record.attributes.ApproximateReceiveCount) || 1) >= maxReceiveCount;
}

/** What a queue consumer needs to process a batch: its batch processor, its queue and backoff, its ledger. */
export interface QueueConsumer {
  processor: BatchProcessor;
  sqs: SQSClient;
  queueUrl: string;
  redelivery: { baseSeconds: number; capSeconds: number };
  ledger: { record(entries: readonly LedgerEntry[]): Promise<void> };
}

/**
 * Processes one SQS batch: `handleRecord` runs on every record (Powertools `processPartialResponse`, failures
 * reported per record) and adds the record's ledger entries to `entries`; the failed records are backed off
 * (`backOffFailedRecords`); then the entries are written, after the work and best effort, so a ledger outage
 * neither fails nor repeats a record.
 * @param waitAtLeast seconds a failed record must wait, by message id (filled in by `handleRecord`)
 * @returns the partial batch response for Lambda
 */
export async function processQueueBatch(
  event: SQSEvent,
  context: Context,
  handleRecord: (record: SQSRecord, entries: LedgerEntry[]) => Promise<unknown>,
  consumer: QueueConsumer,
  waitAtLeast?: ReadonlyMap<string, number>,
): Promise<SQSBatchResponse> {
  const entries: LedgerEntry[] = [];
  const response = await processPartialResponse(
    event,
    (record: SQSRecord) => handleRecord(record, entries),
    consumer.processor,
    { context, throwOnFullBatchFailure: false },
  );
  await backOffFailedRecords(
    consumer.sqs,
    consumer.queueUrl,
    event.Records,
    response,
    consumer.redelivery,
    waitAtLeast,
  );
  await consumer.ledger.record(entries);
  return response;
}
