/**
 * Flow starter: takes canonical events routed to a flow (EventBridge events delivered to its queue) and starts
 * one Standard execution per event, named after the event key, so the same event never runs twice: Step
 * Functions refuses a second execution of a name for 90 days (an identical start of a running one returns
 * it; `ExecutionAlreadyExists` otherwise), and either answer is taken as success
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
 * Failed records are reported individually and backed off, then dead-lettered by SQS.
 */
import { createHash } from 'node:crypto';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { clientConfig, sqsClientConfig } from '../shared/aws.js';
import { requiredEnv } from '../shared/env.js';
import { MappingError } from '../shared/errors.js';
import { instrument, logger, metrics, tracer } from '../shared/powertools.js';
import { backOffFailedRecords } from '../shared/redelivery.js';

const stateMachineArn = requiredEnv('STATE_MACHINE_ARN');
const queueUrl = requiredEnv('QUEUE_URL');
const redelivery = {
  baseSeconds: Number(requiredEnv('REDELIVERY_BASE_SECONDS')),
  capSeconds: Number(requiredEnv('REDELIVERY_CAP_SECONDS')),
};

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

async function startFlow(record: SQSRecord): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new MappingError('message is not JSON');
  }
  const parsed = RoutedEvent.safeParse(body);
  if (!parsed.success) throw new MappingError('message is not a canonical event');
  const { detail, source, 'detail-type': detailType } = parsed.data;
  const name = executionName(detailType, detail.eventKey);
  logger.appendKeys({ eventKey: detail.eventKey });
  try {
    // The input leaves out the envelope fields that differ between deliveries of one event (id, time,
    // replay-name), so a repeated start is identical and Step Functions answers it idempotently.
    await sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name,
        input: JSON.stringify({ source, 'detail-type': detailType, detail }),
      }),
    );
    metrics.addMetric('FlowStarted', MetricUnit.Count, 1);
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
    logger.info('flow already started for this event', { executionName: name });
    metrics.addMetric('FlowStartDuplicate', MetricUnit.Count, 1);
  }
}

export const handler = instrument(async (event: SQSEvent, context: Context) => {
  const response = await processPartialResponse(event, startFlow, processor, {
    context,
    throwOnFullBatchFailure: false,
  });
  await backOffFailedRecords(sqs, queueUrl, event.Records, response, redelivery);
  return response;
});
