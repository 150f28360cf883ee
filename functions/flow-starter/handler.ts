/**
 * Flow starter: takes canonical events routed to a flow (EventBridge events delivered to its queue) and starts
 * one Standard execution per event, named after the event key, so the same event never runs twice: Step
 * Functions refuses a second execution of a name for 90 days (an identical start of a running one returns
 * it; `ExecutionAlreadyExists` otherwise), and either answer is taken as success
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
 * Failed records are reported individually and backed off, then dead-lettered by SQS.
 *
 * Metrics, `[service, flow]`: `FlowStarted`, and `FlowStartDuplicate` when the execution already existed.
 * How executions end is in the `AWS/States` metrics of the state machine. Every log line of a record carries
 * its event key.
 *
 * Event ledger (functions/shared/ledger.ts), written once per batch, best effort: `flow-started` (execution
 * ARN), `duplicate`, or `dead-lettered` on the last receive.
 */
import { createHash } from 'node:crypto';
import { BatchProcessor, EventType } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { clientConfig, sqsClientConfig } from '../shared/aws.js';
import { requiredEnv } from '../shared/env.js';
import { MappingError } from '../shared/errors.js';
import { Dimension, HubMetric } from '../shared/hub-metrics.js';
import { type LedgerEntry, LedgerStage, ledgerFromEnvironment } from '../shared/ledger.js';
import { emitMetric, instrument, logger, metrics, tracer, withEventKey } from '../shared/powertools.js';
import { onLastReceive, processQueueBatch } from '../shared/redelivery.js';

const stateMachineArn = requiredEnv('STATE_MACHINE_ARN');
/** The flow this starter starts, e.g. `order-paid`: the `flow` dimension of its metrics. */
const flow = requiredEnv('FLOW_NAME');
const queueUrl = requiredEnv('QUEUE_URL');
const redelivery = {
  baseSeconds: Number(requiredEnv('REDELIVERY_BASE_SECONDS')),
  capSeconds: Number(requiredEnv('REDELIVERY_CAP_SECONDS')),
};
const maxReceiveCount = Number(requiredEnv('MAX_RECEIVE_COUNT'));
const ledger = ledgerFromEnvironment(tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(1000))), {
  logger,
  metrics,
  tracer,
});

const sfn = tracer.captureAWSv3Client(new SFNClient(clientConfig(3000)));
const sqs = tracer.captureAWSv3Client(new SQSClient(sqsClientConfig(2000)));
const processor = new BatchProcessor(EventType.SQS);

const RoutedEvent = z.object({
  source: z.string(),
  'detail-type': z.string(),
  detail: z.object({ eventKey: z.string().min(1) }).loose(),
});

/**
 * The execution name of an event: the detail type and the SHA-256 of the event key, hex. Names take at most
 * 80 characters of letters, digits, `-` and `_`, so the key itself (which may hold any character) is hashed.
 */
export function executionName(detailType: string, eventKey: string): string {
  const prefix = detailType.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 15);
  return `${prefix}-${createHash('sha256').update(eventKey).digest('hex')}`;
}

/** Starts the flow of one record and adds its ledger entry to `entries` (`dead-lettered` on a last failure). */
async function startFlow(record: SQSRecord, entries: LedgerEntry[]): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new MappingError('message is not JSON');
  }
  const parsed = RoutedEvent.safeParse(body);
  if (!parsed.success) throw new MappingError('message is not a canonical event');
  const { detail, source, 'detail-type': detailType } = parsed.data;
  try {
    entries.push(await withEventKey(detail.eventKey, () => start(source, detailType, detail)));
  } catch (error) {
    if (onLastReceive(record, maxReceiveCount)) {
      entries.push({
        eventKey: detail.eventKey,
        stage: LedgerStage.deadLettered,
        at: new Date(),
        eventType: detailType,
        details: {
          queue: `${flow}-start`,
          errorName: (error as Error).name,
          receiveCount: Number(record.attributes.ApproximateReceiveCount),
        },
      });
    }
    throw error;
  }
}

/**
 * Starts the execution of one event; a start already made counts as a duplicate, not a failure.
 * @returns its ledger entry: `flow-started` at the execution's start (an idempotent answer for a running
 *   execution repeats that time, so it rewrites the same entry), or `duplicate`
 */
async function start(source: string, detailType: string, detail: { eventKey: string }): Promise<LedgerEntry> {
  const name = executionName(detailType, detail.eventKey);
  const { eventKey } = detail;
  try {
    // The input leaves out the envelope fields that differ between deliveries of one event (id, time,
    // replay-name), so a repeated start is identical and Step Functions answers it idempotently.
    const { executionArn, startDate } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name,
        input: JSON.stringify({ source, 'detail-type': detailType, detail }),
      }),
    );
    emitMetric(HubMetric.FlowStarted, MetricUnit.Count, 1, { [Dimension.flow]: flow });
    return {
      eventKey,
      stage: LedgerStage.flowStarted,
      at: startDate ?? new Date(),
      eventType: detailType,
      details: { flow, executionArn },
    };
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
    logger.info('flow already started for this event', { executionName: name });
    emitMetric(HubMetric.FlowStartDuplicate, MetricUnit.Count, 1, { [Dimension.flow]: flow });
    return {
      eventKey,
      stage: LedgerStage.duplicate,
      at: new Date(),
      eventType: detailType,
      details: { flow, executionArn: executionArnOf(name), reason: error.name },
    };
  }
}

/** The ARN of this state machine's execution `name` (what StartExecution would have answered). */
function executionArnOf(name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

export const handler = instrument((event: SQSEvent, context: Context) =>
  processQueueBatch(event, context, startFlow, { processor, sqs, queueUrl, redelivery, ledger }),
);
