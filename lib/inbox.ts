import { Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { MapperName } from '../functions/sources.js';
import type { EventLedger } from './event-ledger.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { QueueWorker } from './queue-worker.js';

export interface InboxProps {
  /** The bus the router publishes canonical events to. */
  readonly bus: events.IEventBus;
  readonly idempotency: IdempotencyStore;
  /** Where the router records each event's `received`, `enqueued`, `routed` … entries. */
  readonly ledger: EventLedger;
  /** Redelivery backoff of failed records, seconds. */
  readonly redelivery: { readonly baseSeconds: number; readonly capSeconds: number };
  /** The mapper of each source whose events are routed, by source name. */
  readonly mappers: Readonly<Record<string, MapperName>>;
  /** Where claim-checked bodies are. */
  readonly payloads: s3.IBucket;
}

/**
 * Where accepted webhooks wait: the inbox queue (with its dead-letter queue) and the router function that
 * deduplicates them, maps them to canonical events and puts those on the bus.
 */
export class Inbox extends QueueWorker {
  constructor(scope: Construct, id: string, props: InboxProps) {
    super(scope, id, {
      entry: 'router/handler.ts',
      serviceName: 'router',
      idempotency: props.idempotency,
      ledger: props.ledger,
      redelivery: props.redelivery,
      environment: {
        EVENT_BUS_NAME: props.bus.eventBusName,
        MAPPERS: Stack.of(scope).toJsonString(props.mappers),
      },
    });
    props.bus.grantPutEventsTo(this.worker);
    iam.Grant.addToPrincipal({
      grantee: this.worker,
      actions: ['s3:GetObject'],
      resourceArns: [props.payloads.arnForObjects('*')],
    });
    Validations.of(this.worker).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::<PayloadsBucket1715615A.Arn>/*]',
      reason:
        'Claim-checked bodies have generated keys; the grant is GetObject only, on the payload bucket only.',
    });
  }
}
