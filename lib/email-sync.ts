import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DurableQueue } from './durable-queue.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { ServiceFunction } from './service-function.js';

export interface EmailSyncProps {
  /** Base URL of the email platform's API. */
  readonly emailBaseUrl: string;
  readonly idempotency: IdempotencyStore;
  /** Redelivery backoff of failed records, seconds. */
  readonly redelivery: { readonly baseSeconds: number; readonly capSeconds: number };
}

const CONSUMER_TIMEOUT = Duration.seconds(30);

/**
 * Keeps the email platform's subscribers in step with CRM contacts: a queue of canonical contact events
 * (with its dead-letter queue) and the consumer that subscribes, updates or unsubscribes.
 */
export class EmailSync extends Construct {
  readonly queue: DurableQueue;
  readonly consumer: ServiceFunction;

  constructor(scope: Construct, id: string, props: EmailSyncProps) {
    super(scope, id);
    this.queue = new DurableQueue(this, 'Queue', { consumerTimeout: CONSUMER_TIMEOUT });
    this.consumer = new ServiceFunction(this, 'Consumer', {
      entry: 'email-sync/handler.ts',
      serviceName: 'email-sync',
      timeout: CONSUMER_TIMEOUT,
      environment: {
        DOWNSTREAM_BASE_URL: props.emailBaseUrl,
        IDEMPOTENCY_TABLE_NAME: props.idempotency.table.tableName,
      },
    });
    this.queue.addConsumer(this.consumer, props.redelivery);
    props.idempotency.table.grantReadWriteData(this.consumer);
  }
}
