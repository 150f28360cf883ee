import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  FAILURE_STAGES,
  FAILURES_INDEX,
  LedgerAttribute,
  LedgerEnvironment,
  type LedgerStage,
} from '../functions/shared/ledger.js';
import { hubTable } from './hub-table.js';

export interface EventLedgerProps {
  /**
   * How long an entry is kept before DynamoDB's TTL deletes it (TTL deletes within a few days of expiry:
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html).
   * @default Duration.days(30)
   */
  readonly retention?: Duration;
}

/** What a flow's own ledger entry says; values are JSONata expressions over the state's input and context. */
export interface FlowLedgerEntry {
  readonly stage: LedgerStage;
  /** Written as `component`, e.g. `order-paid`. */
  readonly flow: string;
  /**
   * Extra details, each a JSONata expression yielding a string, e.g. `{% $states.input.failure.Error %}`.
   * @default none
   */
  readonly details?: Readonly<Record<string, string>>;
}

/**
 * The event ledger: a DynamoDB table with one item per stage of each event's life, written by the functions
 * after the acknowledgement (functions/shared/ledger.ts holds the item layout), so that one Query on `pk`
 * (the event key) reads one event's history in order, and one Query on the sparse index `failures`
 * (`failureSource`, `at`) reads a source's recent failures. On-demand, encrypted, point-in-time recovery,
 * entries expire by TTL on `expiresAt`, retained when the stack is deleted (the history of an incident
 * outlives a redeploy). The operator CLI reads it (`npm run ops -- history <event key>`).
 */
export class EventLedger extends Construct {
  readonly table: dynamodb.TableV2;
  /** How long an entry is kept. */
  readonly retention: Duration;

  constructor(scope: Construct, id: string, props: EventLedgerProps = {}) {
    super(scope, id);
    this.retention = props.retention ?? Duration.days(30);
    this.table = hubTable(this, 'Table', {
      partitionKey: LedgerAttribute.eventKey,
      sortKey: LedgerAttribute.sortKey,
      timeToLiveAttribute: LedgerAttribute.expiresAt,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: FAILURES_INDEX,
      partitionKey: { name: LedgerAttribute.failureSource, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LedgerAttribute.at, type: dynamodb.AttributeType.STRING },
      // Failure items are few and small; projecting all lets `failures` print them without a second read.
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  /**
   * Lets `fn` write entries (PutItem and BatchWriteItem only) and sets `LEDGER_TABLE_NAME` and
   * `LEDGER_RETENTION_SECONDS` in its environment (read by `ledgerFromEnvironment`).
   */
  grantWrite(fn: lambda.Function): iam.Grant {
    fn.addEnvironment(LedgerEnvironment.tableName, this.table.tableName);
    fn.addEnvironment(LedgerEnvironment.retentionSeconds, String(this.retention.toSeconds()));
    // On the table only: `TableV2.grant` would add its indexes (`/index/*`), where no write goes.
    return iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
      resourceArns: [this.table.tableArn],
    });
  }

  /**
   * A state (JSONata, usable in a JSONPath state machine) that writes one entry of the execution's event:
   * key `$states.input.detail.eventKey`, time the state's entry (`$states.context.State.EnteredTime`), the
   * execution ARN in `details.executionArn`, and the stage's TTL. It passes its input on unchanged. Best effort
   * like every ledger write: chain it with `ledgerEntryThen`, so a failed write (after one retry) goes on to
   * the next state rather than failing the flow. Grants the state machine PutItem on the table.
   */
  flowEntry(scope: Construct, id: string, entry: FlowLedgerEntry): tasks.DynamoPutItem {
    const entered = '$states.context.State.EnteredTime';
    const at = `$fromMillis($toMillis(${entered}))`;
    const source = "$substringBefore($states.input.detail.eventKey, ':')";
    const A = LedgerAttribute;
    const S = (expression: string) => tasks.DynamoAttributeValue.fromString(`{% ${expression} %}`);
    const details = {
      executionArn: S('$states.context.Execution.Id'),
      ...Object.fromEntries(
        Object.entries(entry.details ?? {}).map(([name, value]) => [
          name,
          tasks.DynamoAttributeValue.fromString(value),
        ]),
      ),
    };
    const task = tasks.DynamoPutItem.jsonata(scope, id, {
      table: this.table,
      item: {
        [A.eventKey]: S('$states.input.detail.eventKey'),
        [A.sortKey]: S(`${at} & '#${entry.stage}'`),
        [A.at]: S(at),
        [A.stage]: tasks.DynamoAttributeValue.fromString(entry.stage),
        [A.source]: S(source),
        [A.eventType]: S('$states.input.`detail-type`'),
        [A.component]: tasks.DynamoAttributeValue.fromString(entry.flow),
        [A.details]: tasks.DynamoAttributeValue.fromMap(details),
        [A.expiresAt]: tasks.DynamoAttributeValue.numberFromString(
          `{% $string($floor($toMillis(${entered}) / 1000) + ${this.retention.toSeconds()}) %}`,
        ),
        ...(FAILURE_STAGES.includes(entry.stage) ? { [A.failureSource]: S(source) } : {}),
      },
      outputs: '{% $states.input %}',
    });
    task.addRetry({ errors: [sfn.Errors.ALL], interval: Duration.seconds(1), maxAttempts: 1 });
    return task;
  }
}

/**
 * Chains a `flowEntry` state to `next`, on success and on any error alike (the input passes on unchanged):
 * the ledger never decides a flow's outcome.
 */
export function ledgerEntryThen(entry: tasks.DynamoPutItem, next: sfn.IChainable): sfn.Chain {
  entry.addCatch(next, { errors: [sfn.Errors.ALL], outputs: '{% $states.input %}' });
  return entry.next(next);
}
