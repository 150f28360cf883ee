import type { Construct } from 'constructs';
import type { DownstreamGuards, GuardSettings } from './downstream-guards.js';
import type { EntityVersions } from './entity-versions.js';
import type { EventLedger } from './event-ledger.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { QueueWorker } from './queue-worker.js';

export interface EmailSyncProps {
  /** Base URL of the email platform's API. */
  readonly emailBaseUrl: string;
  readonly idempotency: IdempotencyStore;
  /** Where the consumer records each event's `delivered`, `skipped` or `failed` entry. */
  readonly ledger: EventLedger;
  /** The circuit breaker and rate limit of the email platform. */
  readonly guards: DownstreamGuards;
  /**
   * Breaker and rate settings of the email platform.
   * @default the guard defaults, no rate limit
   */
  readonly guardSettings?: GuardSettings;
  /** Where the last applied version of each contact is kept (last writer wins). */
  readonly versions: EntityVersions;
  /** Redelivery backoff of failed records, seconds. */
  readonly redelivery: { readonly baseSeconds: number; readonly capSeconds: number };
}

/**
 * Keeps the email platform's subscribers in step with CRM contacts: a queue of canonical contact events
 * (with its dead-letter queue) and the consumer that subscribes, updates or unsubscribes, skipping an update
 * older than one already applied.
 */
export class EmailSync extends QueueWorker {
  constructor(scope: Construct, id: string, props: EmailSyncProps) {
    super(scope, id, {
      entry: 'email-sync/handler.ts',
      serviceName: 'email-sync',
      idempotency: props.idempotency,
      ledger: props.ledger,
      redelivery: props.redelivery,
      environment: {
        DOWNSTREAM_BASE_URL: props.emailBaseUrl,
        VERSIONS_TABLE_NAME: props.versions.table.tableName,
      },
    });
    props.versions.table.grant(this.worker, 'dynamodb:PutItem');
    props.guards.grantTo(this.worker, 'email', props.guardSettings);
  }
}
