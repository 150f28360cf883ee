import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DurableQueue } from './durable-queue.js';
import type { EventLedger } from './event-ledger.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { ServiceFunction } from './service-function.js';

export interface QueueWorkerProps {
  /** Handler file below `functions/`. */
  readonly entry: string;
  /** Powertools service name. */
  readonly serviceName: string;
  /**
   * The idempotency table the worker keeps its deduplication records in.
   * @default none: the worker keeps no records
   */
  readonly idempotency?: IdempotencyStore;
  /**
   * The event ledger the worker writes each event's stages to.
   * @default none: the worker writes no ledger entries
   */
  readonly ledger?: EventLedger;
  /** Redelivery backoff of failed records, seconds. */
  readonly redelivery: { readonly baseSeconds: number; readonly capSeconds: number };
  /**
   * Extra environment of the function (no secret values).
   * @default none
   */
  readonly environment?: Record<string, string>;
  /**
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
}

/**
 * A durable queue (with its dead-letter queue) and the function that consumes it in batches, reporting
 * failures per record, with read/write access to the idempotency table when it keeps deduplication records,
 * and write access to the event ledger when it writes one.
 */
export class QueueWorker extends Construct {
  readonly queue: DurableQueue;
  readonly worker: ServiceFunction;

  constructor(scope: Construct, id: string, props: QueueWorkerProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(30);
    this.queue = new DurableQueue(this, 'Queue', { consumerTimeout: timeout });
    this.worker = new ServiceFunction(this, 'Worker', {
      entry: props.entry,
      serviceName: props.serviceName,
      timeout,
      environment: {
        ...(props.idempotency ? { IDEMPOTENCY_TABLE_NAME: props.idempotency.table.tableName } : {}),
        ...props.environment,
      },
    });
    this.queue.addConsumer(this.worker, props.redelivery);
    props.idempotency?.table.grantReadWriteData(this.worker);
    props.ledger?.grantWrite(this.worker);
  }
}
