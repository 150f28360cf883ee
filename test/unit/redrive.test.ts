import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type RedriveResult, redrive } from '../../cli/redrive.js';

const DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/inbox-dlq';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/inbox';
const sqsMock = mockClient(SQSClient);

/** Two in-memory queues behind the SQS mock: received messages are hidden until deleted. */
function queues(deadLetters: number, refuse: (body: string) => boolean = () => false) {
  const waiting: Message[] = Array.from({ length: deadLetters }, (_, index) => ({
    MessageId: `m${index}`,
    ReceiptHandle: `r${index}`,
    Body: `{"eventId":"evt_${index}"}`,
    MessageAttributes: { traceparent: { DataType: 'String', StringValue: `t${index}` } },
  }));
  const hidden: Message[] = [];
  const sent: { body: string; attributes: unknown }[] = [];
  sqsMock.on(GetQueueAttributesCommand).callsFake(() => ({
    Attributes: { ApproximateNumberOfMessages: String(waiting.length) },
  }));
  sqsMock.on(ReceiveMessageCommand).callsFake((input) => {
    const batch = waiting.splice(0, input.MaxNumberOfMessages ?? 1);
    hidden.push(...batch);
    return { Messages: batch };
  });
  sqsMock.on(SendMessageBatchCommand).callsFake((input) => {
    const entries = input.Entries as { Id: string; MessageBody: string; MessageAttributes?: unknown }[];
    const refused = entries.filter((entry) => refuse(entry.MessageBody));
    const accepted = entries.filter((entry) => !refuse(entry.MessageBody));
    sent.push(...accepted.map((entry) => ({ body: entry.MessageBody, attributes: entry.MessageAttributes })));
    return {
      Successful: accepted.map(({ Id }) => ({ Id, MessageId: `n${Id}`, MD5OfMessageBody: '' })),
      Failed: refused.map(({ Id }) => ({ Id, SenderFault: false, Code: 'InternalError' })),
    };
  });
  sqsMock.on(DeleteMessageBatchCommand).callsFake((input) => {
    for (const { ReceiptHandle } of input.Entries as { ReceiptHandle: string }[]) {
      hidden.splice(
        hidden.findIndex((message) => message.ReceiptHandle === ReceiptHandle),
        1,
      );
    }
    return { Successful: [], Failed: [] };
  });
  return { waiting, hidden, sent };
}

describe('redrive', () => {
  const sqs = new SQSClient({ region: 'eu-west-1' });
  beforeEach(() => sqsMock.reset());

  it('moves every dead letter back with its body and attributes, in batches of 10, and deletes it', async () => {
    // Prepare
    const state = queues(23);
    const progress: RedriveResult[] = [];

    // Act
    const result = await redrive(sqs, { from: DLQ, to: QUEUE, onProgress: (step) => progress.push(step) });

    // Assess
    expect(result).toEqual({ moved: 23, failed: 0 });
    expect(state.sent).toHaveLength(23);
    expect(state.sent[22]).toEqual({
      body: '{"eventId":"evt_22"}',
      attributes: { traceparent: { DataType: 'String', StringValue: 't22' } },
    });
    expect(state.hidden).toEqual([]);
    expect(state.waiting).toEqual([]);
    expect(progress.map((step) => step.moved)).toEqual([10, 20, 23]);
    for (const call of sqsMock.commandCalls(SendMessageBatchCommand)) {
      expect(call.args[0].input.QueueUrl).toBe(QUEUE);
    }
  });

  it('leaves a message whose send failed in the dead-letter queue', async () => {
    // Prepare
    const state = queues(3, (body) => body.includes('evt_1'));

    // Act
    const result = await redrive(sqs, { from: DLQ, to: QUEUE });

    // Assess
    expect(result).toEqual({ moved: 2, failed: 1 });
    expect(state.sent.map((message) => message.body)).toEqual(['{"eventId":"evt_0"}', '{"eventId":"evt_2"}']);
    expect(state.hidden.map((message) => message.Body)).toEqual(['{"eventId":"evt_1"}']);
  });

  it('moves at most --max messages', async () => {
    // Prepare
    const state = queues(15);

    // Act
    const result = await redrive(sqs, { from: DLQ, to: QUEUE, max: 12 });

    // Assess
    expect(result).toEqual({ moved: 12, failed: 0 });
    expect(state.waiting).toHaveLength(3);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)[1]?.args[0].input.MaxNumberOfMessages).toBe(2);
  });

  it('stops at the depth found at the start, so a message that fails again is not moved twice in one run', async () => {
    // Prepare: the queue reports 2, and a third message arrives (a redriven one failing again) mid-run
    const state = queues(2);
    sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '2' } });
    state.waiting.push({ MessageId: 'late', ReceiptHandle: 'late', Body: '{"eventId":"evt_0"}' });

    // Act
    const result = await redrive(sqs, { from: DLQ, to: QUEUE });

    // Assess
    expect(result).toEqual({ moved: 2, failed: 0 });
    expect(state.waiting.map((message) => message.MessageId)).toEqual(['late']);
  });

  it('does nothing on an empty dead-letter queue', async () => {
    // Prepare
    const state = queues(0);

    // Act
    const result = await redrive(sqs, { from: DLQ, to: QUEUE });

    // Assess
    expect(result).toEqual({ moved: 0, failed: 0 });
    expect(state.sent).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});
