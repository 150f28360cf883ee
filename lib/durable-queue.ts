import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** SQS's longest retention, 14 days: the time on-call has to redrive a dead letter. */
const RETENTION = Duration.days(14);
/** SQS's largest message, bytes. */
const MAX_MESSAGE_BYTES = 1_048_576;

export interface DurableQueueProps {
  /**
   * Timeout of the function that will consume the queue; the visibility timeout is six times it, as AWS
   * advises for SQS event sources.
   * @default Duration.seconds(30)
   */
  readonly consumerTimeout?: Duration;
  /**
   * Receives before a message moves to the dead-letter queue (AWS advises at least 5).
   * @default 5
   */
  readonly maxReceiveCount?: number;
}

/**
 * An encrypted SQS queue with its encrypted dead-letter queue, both kept 14 days and reachable only over
 * TLS, and `addConsumer`, which attaches a Lambda with partial batch failure reporting.
 */
export class DurableQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Receives before a message moves to the dead-letter queue. */
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: DurableQueueProps = {}) {
    super(scope, id);
    this.maxReceiveCount = props.maxReceiveCount ?? 5;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: RETENTION,
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: RETENTION,
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      visibilityTimeout: Duration.seconds((props.consumerTimeout ?? Duration.seconds(30)).toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });
  }

  /**
   * Makes `fn` the queue's consumer: batches of up to 10 records, failures reported per record
   * (`ReportBatchItemFailures`), at most `maxConcurrency` concurrent batches. Sets `QUEUE_URL`, the
   * redelivery backoff (`REDELIVERY_BASE_SECONDS`, `REDELIVERY_CAP_SECONDS`) and `MAX_RECEIVE_COUNT` (so the
   * consumer knows a failure on the last receive dead-letters the record) in the function's environment.
   */
  addConsumer(
    fn: lambda.Function,
    redelivery: { readonly baseSeconds: number; readonly capSeconds: number },
    maxConcurrency = 10,
  ): void {
    fn.addEnvironment('QUEUE_URL', this.queue.queueUrl);
    fn.addEnvironment('REDELIVERY_BASE_SECONDS', String(redelivery.baseSeconds));
    fn.addEnvironment('REDELIVERY_CAP_SECONDS', String(redelivery.capSeconds));
    fn.addEnvironment('MAX_RECEIVE_COUNT', String(this.maxReceiveCount));
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        maxConcurrency,
      }),
    );
  }
}
