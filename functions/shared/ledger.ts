/**
 * The event ledger: one DynamoDB item per stage of an event's life (received, enqueued, routed, flow started,
 * each step's outcome, delivered, failed, dead-lettered …), so on-call can read one event's history with one
 * Query and the recent failures of a source with another (cli/ledger.ts). The table is `EventLedger`
 * (lib/event-ledger.ts); this module is its single definition of the item layout, shared by the writers
 * (the functions), the construct (keys, TTL, index, the flow's own entries) and the CLI.
 *
 * Item layout:
 * - `pk` (S): the event key, `<source>:<event id>` (functions/contracts.ts `eventKeyOf`);
 * - `sk` (S): `<at>#<stage>` (`#<discriminator>` appended when one stage can occur twice at once, e.g. the step
 *   name), where `at` is ISO 8601 UTC with milliseconds, so the sort key orders one event's entries in time;
 * - `at`, `stage`, `source`, `eventType` (a vendor event type or a canonical detail type), `component` (the
 *   writing function's service name), `traceId` (the X-Ray root trace id, `1-xxxxxxxx-…`), `details` (M: a few
 *   short strings, numbers or booleans, never bodies or secrets);
 * - `expiresAt` (N): epoch seconds after which DynamoDB's TTL deletes the item;
 * - `failureSource` (S): the source, set only on failure stages, so the sparse index `failures`
 *   (`failureSource`, `at`) holds exactly the failures.
 *
 * Writes are best effort, by design: the ledger observes the business work and must never fail or repeat it.
 * `Ledger.record` never throws: a write that fails (after one retry of unprocessed items) is logged with the
 * event keys and error name, and counted in the metric `LedgerWriteFailed` (Count, one per entry lost). The
 * queue consumers' own retries would otherwise turn a ledger outage into duplicate downstream calls.
 */

import type { Tracer } from '@aws-lambda-powertools/tracer';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { requiredEnv } from './env.js';
import { ConfigurationError } from './errors.js';
import { HubMetric } from './hub-metrics.js';

/** The stages an event goes through, as written in `stage` and in the sort key. */
export const LedgerStage = {
  /** The ingest function accepted the webhook (`at` is the envelope's `receivedAt`). */
  received: 'received',
  /** The inbox queue holds it (`at` is the SQS message's `SentTimestamp`). */
  enqueued: 'enqueued',
  /** A consumer dropped a redelivery of an event it had already handled (router, email sync, flow start). */
  duplicate: 'duplicate',
  /** The router put its canonical event on the bus (`eventType` is the detail type). */
  routed: 'routed',
  /** The router put it on the bus as `webhook.unrouted`: no route takes it. */
  unrouted: 'unrouted',
  /** The starter started the flow's execution (`details.executionArn`; `at` is the execution's start). */
  flowStarted: 'flow-started',
  /** A flow step returned (`details.step`). */
  stepSucceeded: 'step-succeeded',
  /** A flow step failed; it may be retried (`details.step`, `details.errorName`). */
  stepFailed: 'step-failed',
  /** The event's work is done: the flow succeeded, or the email platform was updated. */
  delivered: 'delivered',
  /** The email sync skipped an update older than the one applied. */
  skipped: 'skipped',
  /** The flow ended failed, or an email-sync attempt failed (`details.errorName`). */
  failed: 'failed',
  /** The record failed on its last receive: SQS moves it to the dead-letter queue (`details.queue`). */
  deadLettered: 'dead-lettered',
} as const;
export type LedgerStage = (typeof LedgerStage)[keyof typeof LedgerStage];

/** Stages that are failures: only their items carry `failureSource`, so only they are in the `failures` index. */
export const FAILURE_STAGES: readonly LedgerStage[] = [
  LedgerStage.stepFailed,
  LedgerStage.failed,
  LedgerStage.deadLettered,
];

/** Attribute names of a ledger item. */
export const LedgerAttribute = {
  eventKey: 'pk',
  sortKey: 'sk',
  at: 'at',
  stage: 'stage',
  source: 'source',
  eventType: 'eventType',
  component: 'component',
  traceId: 'traceId',
  details: 'details',
  expiresAt: 'expiresAt',
  failureSource: 'failureSource',
} as const;

/** The sparse global secondary index of failures: partition `failureSource`, sort `at`, all attributes. */
export const FAILURES_INDEX = 'failures';

/** Environment of a function that writes to the ledger (set by `EventLedger.grantWrite`). */
export const LedgerEnvironment = {
  /** The table's name. */
  tableName: 'LEDGER_TABLE_NAME',
  /** How long an entry is kept, seconds. */
  retentionSeconds: 'LEDGER_RETENTION_SECONDS',
} as const;

/** Longest string kept in `details`, characters: details name things, they never carry payloads. */
const DETAIL_MAX_CHARS = 256;
/** BatchWriteItem takes at most 25 put requests (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html). */
const BATCH_LIMIT = 25;

/** One stage of one event. */
export interface LedgerEntry {
  /** `<source>:<event id>`; the source is the part before the first `:`. */
  eventKey: string;
  stage: LedgerStage;
  /**
   * When the stage happened (ISO 8601, epoch milliseconds or a Date). @default the time of the write, which
   * for entries written together after a batch is too late: give those the time they happened.
   */
  at?: string | number | Date;
  /** Vendor event type or canonical detail type, when known. */
  eventType?: string;
  /** X-Ray root trace id of the work this stage belongs to. @default the current invocation's */
  traceId?: string;
  /** Appended to the sort key, for a stage that can happen twice in one millisecond (the step name). */
  discriminator?: string;
  /** A few short facts: execution ARN, step name, error name, HTTP status. Never bodies or secrets. */
  details?: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** What the ledger logs through: the functions' Powertools logger. */
export interface LedgerLogger {
  warn(message: string, extra: Record<string, unknown>): void;
}

/** What the ledger counts through: the functions' Powertools metrics. */
export interface LedgerMetrics {
  addMetric(name: string, unit: 'Count', value: number): unknown;
}

export interface LedgerOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** How long entries are kept, seconds (the TTL is `now + retentionSeconds`). */
  retentionSeconds: number;
  /** Written as `component`: the writing function's service name. */
  component?: string;
  logger: LedgerLogger;
  metrics: LedgerMetrics;
  /** The current X-Ray root trace id, if tracing is active. */
  traceId: () => string | undefined;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/** The source of an event key: the part before its first `:` (`stripe:evt_1` → `stripe`). */
export function sourceOfEventKey(eventKey: string): string {
  const colon = eventKey.indexOf(':');
  return colon > 0 ? eventKey.slice(0, colon) : eventKey;
}

/**
 * The root trace id of an X-Ray trace header (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=…;Sampled=1`),
 * e.g. an SQS record's `AWSTraceHeader`, which carries the trace of the call that sent it.
 * https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
 */
export function rootTraceId(header: string | undefined): string | undefined {
  return header?.match(/(?:^|;)\s*Root=([^;\s]+)/)?.[1];
}

/** `at` as ISO 8601 UTC with milliseconds (one fixed width, so it sorts as text); `fallback` when unreadable. */
function isoTime(at: string | number | Date | undefined, fallback: number): string {
  const time = at === undefined ? fallback : new Date(at).getTime();
  return new Date(Number.isNaN(time) ? fallback : time).toISOString();
}

function detailValue(value: string | number | boolean): AttributeValue {
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  return { S: value.length > DETAIL_MAX_CHARS ? `${value.slice(0, DETAIL_MAX_CHARS)}…` : value };
}

/**
 * The DynamoDB item of one entry (layout in the module's docstring).
 * @param now milliseconds since the epoch: the default `at`, and the start of the retention
 */
export function ledgerItem(
  entry: LedgerEntry,
  options: { retentionSeconds: number; component?: string; traceId?: string; now: number },
): Record<string, AttributeValue> {
  const at = isoTime(entry.at, options.now);
  const source = sourceOfEventKey(entry.eventKey);
  const traceId = entry.traceId ?? options.traceId;
  const details = Object.entries(entry.details ?? {}).flatMap(([name, value]) =>
    value === undefined ? [] : [[name, detailValue(value)] as const],
  );
  const A = LedgerAttribute;
  return {
    [A.eventKey]: { S: entry.eventKey },
    [A.sortKey]: { S: [at, entry.stage, ...(entry.discriminator ? [entry.discriminator] : [])].join('#') },
    [A.at]: { S: at },
    [A.stage]: { S: entry.stage },
    [A.source]: { S: source },
    [A.expiresAt]: { N: String(Math.floor(options.now / 1000) + options.retentionSeconds) },
    ...(entry.eventType ? { [A.eventType]: { S: entry.eventType } } : {}),
    ...(options.component ? { [A.component]: { S: options.component } } : {}),
    ...(traceId ? { [A.traceId]: { S: traceId } } : {}),
    ...(details.length > 0 ? { [A.details]: { M: Object.fromEntries(details) } } : {}),
    ...(FAILURE_STAGES.includes(entry.stage) ? { [A.failureSource]: { S: source } } : {}),
  };
}

/** Writes ledger entries, best effort (see the module's docstring). */
export class Ledger {
  readonly #options: LedgerOptions;

  constructor(options: LedgerOptions) {
    this.#options = options;
  }

  /**
   * Writes `entries` with BatchWriteItem (25 per call), retrying unprocessed items once. Never throws: what
   * cannot be written is logged (event keys, stages, error name) and counted as `LedgerWriteFailed`.
   * Entries with the same event key and sort key are written once (the last wins): a redelivered record
   * rewrites its own `received` and `enqueued` entries rather than adding new ones.
   */
  async record(entries: readonly LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const { retentionSeconds, component } = this.#options;
    const now = (this.#options.now ?? Date.now)();
    let traceId: string | undefined;
    try {
      traceId = this.#options.traceId();
    } catch {
      traceId = undefined;
    }
    const items = new Map<string, Record<string, AttributeValue>>();
    for (const entry of entries) {
      const item = ledgerItem(entry, {
        retentionSeconds,
        now,
        ...(component ? { component } : {}),
        ...(traceId ? { traceId } : {}),
      });
      // DynamoDB refuses a batch that puts one key twice.
      items.set(`${item.pk?.S}\n${item.sk?.S}`, item);
    }
    const requests = [...items.values()].map((Item): WriteRequest => ({ PutRequest: { Item } }));
    let failedCall: string | undefined;
    for (let start = 0; start < requests.length; start += BATCH_LIMIT) {
      const chunk = requests.slice(start, start + BATCH_LIMIT);
      // After a failed call (the SDK has already retried it), the rest is not tried: the caller's time is
      // bounded by one failing call, not one per chunk.
      if (failedCall) this.#lost(chunk, failedCall);
      else failedCall = await this.#write(chunk);
    }
  }

  /** @returns the error name of a call that failed, undefined when the call was answered */
  async #write(requests: WriteRequest[]): Promise<string | undefined> {
    const { client, tableName } = this.#options;
    let pending = requests;
    try {
      for (let attempt = 0; attempt < 2 && pending.length > 0; attempt += 1) {
        const output = await client.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
        );
        pending = output?.UnprocessedItems?.[tableName] ?? [];
      }
    } catch (error) {
      const errorName = (error as Error).name;
      this.#lost(pending, errorName);
      return errorName;
    }
    if (pending.length > 0) this.#lost(pending, 'UnprocessedItems');
    return undefined;
  }

  /** Counts and logs entries that were not written. */
  #lost(pending: WriteRequest[], errorName: string): void {
    this.#options.metrics.addMetric(HubMetric.LedgerWriteFailed, 'Count', pending.length);
    this.#options.logger.warn('ledger entries not written', {
      errorName,
      entries: pending.map((request) => ({
        eventKey: request.PutRequest?.Item?.pk?.S,
        stage: request.PutRequest?.Item?.stage?.S,
      })),
    });
  }
}

/**
 * The ledger of a function, from its environment (`LEDGER_TABLE_NAME`, `LEDGER_RETENTION_SECONDS`, and
 * `POWERTOOLS_SERVICE_NAME` as the component). Call at module load.
 * @param client a DynamoDB client made with `clientConfig` (functions/shared/aws.ts)
 * @throws ConfigurationError when the table name is missing or the retention is not a positive integer
 */
export function ledgerFromEnvironment(
  client: Pick<DynamoDBClient, 'send'>,
  powertools: {
    logger: LedgerLogger;
    metrics: LedgerMetrics;
    tracer: Pick<Tracer, 'getRootXrayTraceId'>;
  },
): Ledger {
  const tableName = requiredEnv(LedgerEnvironment.tableName);
  const retentionSeconds = Number(requiredEnv(LedgerEnvironment.retentionSeconds));
  if (!Number.isInteger(retentionSeconds) || retentionSeconds <= 0) {
    throw new ConfigurationError(
      `environment variable ${LedgerEnvironment.retentionSeconds} is not a positive integer`,
    );
  }
  const component = process.env.POWERTOOLS_SERVICE_NAME;
  return new Ledger({
    client,
    tableName,
    retentionSeconds,
    ...(component ? { component } : {}),
    logger: powertools.logger,
    metrics: powertools.metrics,
    traceId: () => powertools.tracer.getRootXrayTraceId(),
  });
}
