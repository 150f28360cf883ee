import type { Construct } from 'constructs';
import type { IdempotencyStore } from './idempotency-store.js';
import { QueueWorker } from './queue-worker.js';

export interface EmailSyncProps {
  /** Base URL of the email platform's API. */
  readonly emailBaseUrl: string;
  readonly idempotency: IdempotencyStore;
  /** Redelivery backoff of failed records, seconds. */
  readonly redelivery: { readonly baseSeconds: number; readonly capSeconds: number };
}

/**
 * Keeps the email platform's subscribers in step with CRM contacts: a queue of canonical contact events
 * (with its dead-letter queue) and the consumer that subscribes, updates or unsubscribes.
 */
export class EmailSync extends QueueWorker {
  constructor(scope: Construct, id: string, props: EmailSyncProps) {
    super(scope, id, {
      entry: 'email-sync/handler.ts',
      serviceName: 'email-sync',
      idempotency: props.idempotency,
      redelivery: props.redelivery,
      environment: { DOWNSTREAM_BASE_URL: props.emailBaseUrl },
    });
  }
}
