/**
 * Reading the event ledger (lib/event-ledger.ts; item layout in functions/shared/ledger.ts) for the operator
 * CLI: one event's history is one Query on its key, a source's recent failures one Query on the sparse index
 * `failures`. Both page through DynamoDB's 1 MB result pages.
 */
import { type DynamoDBClient, paginateQuery, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { FAILURES_INDEX, LedgerAttribute } from '../functions/shared/ledger.js';

/** One ledger entry as the CLI prints it. */
export interface LedgerRow {
  eventKey: string;
  /** ISO 8601 UTC. */
  at: string;
  stage: string;
  source: string;
  eventType?: string;
  component?: string;
  traceId?: string;
  details: Record<string, unknown>;
}

/** A `--since` that is neither a number of minutes nor an ISO 8601 time. */
export class InvalidSinceError extends Error {
  override readonly name = 'InvalidSinceError';
}

function toRow(item: Record<string, unknown>): LedgerRow {
  const text = (name: string) => (typeof item[name] === 'string' ? (item[name] as string) : undefined);
  const A = LedgerAttribute;
  return {
    eventKey: text(A.eventKey) ?? '',
    at: text(A.at) ?? '',
    stage: text(A.stage) ?? '',
    source: text(A.source) ?? '',
    ...(text(A.eventType) ? { eventType: text(A.eventType) } : {}),
    ...(text(A.component) ? { component: text(A.component) } : {}),
    ...(text(A.traceId) ? { traceId: text(A.traceId) } : {}),
    details: (item[A.details] as Record<string, unknown> | undefined) ?? {},
  };
}

async function query(
  dynamodb: DynamoDBClient,
  input: QueryCommandInput,
  limit: number,
): Promise<LedgerRow[]> {
  const rows: LedgerRow[] = [];
  for await (const page of paginateQuery({ client: dynamodb }, input)) {
    for (const item of page.Items ?? []) {
      rows.push(toRow(unmarshall(item)));
      if (rows.length >= limit) return rows;
    }
  }
  return rows;
}

/**
 * Every entry of one event, oldest first (the sort key starts with the entry's time).
 * @param eventKey `<source>:<event id>`, e.g. `stripe:evt_1QxD8rLkdIwHu7ix6mQ0Zb3T`
 */
export function eventHistory(
  dynamodb: DynamoDBClient,
  tableName: string,
  eventKey: string,
): Promise<LedgerRow[]> {
  return query(
    dynamodb,
    {
      TableName: tableName,
      KeyConditionExpression: '#pk = :eventKey',
      ExpressionAttributeNames: { '#pk': LedgerAttribute.eventKey },
      ExpressionAttributeValues: { ':eventKey': { S: eventKey } },
      ScanIndexForward: true,
    },
    Number.POSITIVE_INFINITY,
  );
}

/**
 * The failures (step failed, flow or sync failed, dead-lettered) of one source since `since`, newest first.
 * @param limit most entries returned
 */
export function recentFailures(
  dynamodb: DynamoDBClient,
  tableName: string,
  source: string,
  options: { since: Date; limit: number },
): Promise<LedgerRow[]> {
  return query(
    dynamodb,
    {
      TableName: tableName,
      IndexName: FAILURES_INDEX,
      KeyConditionExpression: '#source = :source AND #at >= :since',
      ExpressionAttributeNames: { '#source': LedgerAttribute.failureSource, '#at': LedgerAttribute.at },
      ExpressionAttributeValues: { ':source': { S: source }, ':since': { S: options.since.toISOString() } },
      ScanIndexForward: false,
      Limit: Math.min(options.limit, 1000),
    },
    options.limit,
  );
}

/**
 * Reads `--since`: a whole number of minutes before `now`, or an ISO 8601 time (`2025-11-21T12:00:00Z`).
 * @throws InvalidSinceError for anything else
 */
export function parseSince(value: string, now = Date.now()): Date {
  if (/^\d+$/.test(value)) return new Date(now - Number(value) * 60_000);
  const time = /^\d{4}-\d\d-\d\d/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new InvalidSinceError(`"${value}" is neither minutes nor an ISO 8601 time`);
  }
  return new Date(time);
}

/**
 * One entry as one line: time, stage, component, event type, details (`name=value`) and trace id, with the
 * event key first when `withEventKey` (the failures of a source span several events).
 */
export function formatRow(row: LedgerRow, { withEventKey = false } = {}): string {
  const details = Object.entries(row.details)
    .map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return [
    row.at,
    ...(withEventKey ? [row.eventKey] : []),
    row.stage.padEnd(14),
    (row.component ?? '-').padEnd(26),
    (row.eventType ?? '-').padEnd(26),
    details || '-',
    `trace=${row.traceId ?? '-'}`,
  ].join('  ');
}
