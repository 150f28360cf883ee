import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backOffFailedRecords, redeliveryDelaySeconds } from '../../functions/shared/redelivery.js';
import { sqsRecord } from './support/lambda.js';

describe('redeliveryDelaySeconds', () => {
  it.each([
    [1, 1, 2],
    [2, 2, 4],
    [3, 4, 8],
    [4, 8, 16],
    [5, 16, 32],
    [6, 32, 64],
  ])(
    'waits between ceil(d/2) and d for receive count %i, with d = 2 s·2^(n-1)',
    (receiveCount, low, high) => {
      // Act
      const shortest = redeliveryDelaySeconds(receiveCount, 2, 3600, 0);
      const longest = redeliveryDelaySeconds(receiveCount, 2, 3600, 0.999_999);

      // Assess
      expect([shortest, longest]).toEqual([low, high]);
    },
  );

  it('treats a receive count of 0 or below like a first delivery', () => {
    // Act
    const delays = [0, -3].map((receiveCount) => redeliveryDelaySeconds(receiveCount, 10, 3600, 0.999_999));

    // Assess
    expect(delays).toEqual([10, 10]);
  });

  it('never exceeds the cap, nor SQS limit of 12 hours', () => {
    // Act
    const capped = redeliveryDelaySeconds(30, 5, 900, 0.999_999);
    const cappedLow = redeliveryDelaySeconds(30, 5, 900, 0);
    const sqsLimited = redeliveryDelaySeconds(1000, 5, 100_000, 0.999_999);

    // Assess
    expect([capped, cappedLow, sqsLimited]).toEqual([900, 450, 43_200]);
  });

  it('returns an integer within the equal-jitter bounds for any input (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 43_200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (receiveCount, base, cap, random) => {
          // Prepare
          const d = Math.min(cap, base * 2 ** (receiveCount - 1), 43_200);

          // Act
          const delay = redeliveryDelaySeconds(receiveCount, base, cap, random);

          // Assess
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.ceil(d / 2));
          expect(delay).toBeLessThanOrEqual(d);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('backOffFailedRecords', () => {
  const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/inbox';
  const sqsMock = mockClient(SQSClient);
  const sqs = new SQSClient({ region: 'eu-west-1' });

  beforeEach(() => {
    sqsMock.reset();
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('changes the visibility of the failed records only, each by its own receive count', async () => {
    // Prepare
    const records = [
      sqsRecord('{}', { messageId: 'ok-1' }),
      sqsRecord('{}', { messageId: 'failed-1', receiveCount: 1 }),
      sqsRecord('{}', { messageId: 'ok-2' }),
      sqsRecord('{}', { messageId: 'failed-3', receiveCount: 3 }),
    ];
    const response = { batchItemFailures: [{ itemIdentifier: 'failed-1' }, { itemIdentifier: 'failed-3' }] };

    // Act
    await backOffFailedRecords(sqs, QUEUE_URL, records, response, { baseSeconds: 5, capSeconds: 900 });

    // Assess
    const calls = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE_URL,
      Entries: [
        { Id: '0', ReceiptHandle: 'rh-failed-1', VisibilityTimeout: 5 },
        { Id: '1', ReceiptHandle: 'rh-failed-3', VisibilityTimeout: 20 },
      ],
    });
  });

  it('sends nothing when no record failed', async () => {
    // Prepare
    const records = [sqsRecord('{}'), sqsRecord('{}')];

    // Act
    await backOffFailedRecords(
      sqs,
      QUEUE_URL,
      records,
      { batchItemFailures: [] },
      { baseSeconds: 5, capSeconds: 900 },
    );

    // Assess
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(0);
  });

  it('sends the failed records in chunks of at most 10, with ids unique per request', async () => {
    // Prepare
    const records = Array.from({ length: 25 }, (_, index) => sqsRecord('{}', { messageId: `m-${index}` }));
    const response = {
      batchItemFailures: records.slice(0, 23).map((record) => ({ itemIdentifier: record.messageId })),
    };

    // Act
    await backOffFailedRecords(sqs, QUEUE_URL, records, response, { baseSeconds: 5, capSeconds: 900 });

    // Assess
    const entries = sqsMock
      .commandCalls(ChangeMessageVisibilityBatchCommand)
      .map((call) => call.args[0].input.Entries ?? []);
    expect(entries.map((chunk) => chunk.length)).toEqual([10, 10, 3]);
    expect(entries.flat().map((entry) => entry.ReceiptHandle)).toEqual(
      records.slice(0, 23).map((r) => r.receiptHandle),
    );
    for (const chunk of entries) expect(new Set(chunk.map((entry) => entry.Id)).size).toBe(chunk.length);
  });

  it('treats a missing receive count as a first delivery', async () => {
    // Prepare
    const record = sqsRecord('{}', { messageId: 'no-count' });
    record.attributes.ApproximateReceiveCount = '';

    // Act
    await backOffFailedRecords(
      sqs,
      QUEUE_URL,
      [record],
      { batchItemFailures: [{ itemIdentifier: 'no-count' }] },
      {
        baseSeconds: 7,
        capSeconds: 900,
      },
    );

    // Assess
    expect(
      sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)[0]?.args[0].input.Entries?.[0]
        ?.VisibilityTimeout,
    ).toBe(7);
  });

  it('is best effort: a failing call neither throws nor stops the next chunks', async () => {
    // Prepare
    sqsMock.on(ChangeMessageVisibilityBatchCommand).rejectsOnce(new Error('throttled')).resolves({});
    const records = Array.from({ length: 12 }, (_, index) => sqsRecord('{}', { messageId: `m-${index}` }));
    const response = { batchItemFailures: records.map((record) => ({ itemIdentifier: record.messageId })) };

    // Act
    const run = backOffFailedRecords(sqs, QUEUE_URL, records, response, { baseSeconds: 5, capSeconds: 900 });

    // Assess
    await expect(run).resolves.toBeUndefined();
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(2);
  });

  it('waits at least as long as a record asked, and never past the SQS maximum', async () => {
    // Prepare
    const sqs = new SQSClient({ region: 'eu-west-1' });
    const mock = mockClient(SQSClient);
    mock.on(ChangeMessageVisibilityBatchCommand).resolves({});
    const records = [sqsRecord('{}', { messageId: 'a' }), sqsRecord('{}', { messageId: 'b' })];
    const response = { batchItemFailures: [{ itemIdentifier: 'a' }, { itemIdentifier: 'b' }] };

    // Act
    await backOffFailedRecords(
      sqs,
      'https://queue',
      records,
      response,
      { baseSeconds: 1, capSeconds: 4 },
      new Map([
        ['a', 300],
        ['b', 1_000_000],
      ]),
    );

    // Assess
    const entries = mock.commandCalls(ChangeMessageVisibilityBatchCommand)[0]?.args[0].input.Entries ?? [];
    expect(entries.map((entry) => entry.VisibilityTimeout)).toEqual([300, 43_200]);
    mock.restore();
  });
});
