import { Duration } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { DurableQueue } from './durable-queue.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { ServiceFunction } from './service-function.js';

export interface InboxProps {
  /** The bus the router publishes canonical events to. */
  readonly bus: events.IEventBus;
  readonly idempotency: IdempotencyStore;
  /** Redelivery backoff of failed records, seconds. */
  readonly redelivery: { readonly baseSeconds: number; readonly capSeconds: number };
}

const ROUTER_TIMEOUT = Duration.seconds(30);

/**
 * Where accepted webhooks wait: the inbox queue (with its dead-letter queue) and the router function that
 * deduplicates them, maps them to canonical events and puts those on the bus.
 */
export class Inbox extends Construct {
  readonly queue: DurableQueue;
  readonly router: ServiceFunction;

  constructor(scope: Construct, id: string, props: InboxProps) {
    super(scope, id);
    this.queue = new DurableQueue(this, 'Queue', { consumerTimeout: ROUTER_TIMEOUT });
    this.router = new ServiceFunction(this, 'Router', {
      entry: 'router/handler.ts',
      serviceName: 'router',
      timeout: ROUTER_TIMEOUT,
      environment: {
        EVENT_BUS_NAME: props.bus.eventBusName,
        IDEMPOTENCY_TABLE_NAME: props.idempotency.table.tableName,
      },
    });
    this.queue.addConsumer(this.router, props.redelivery);
    props.bus.grantPutEventsTo(this.router);
    props.idempotency.table.grantReadWriteData(this.router);
  }
}
