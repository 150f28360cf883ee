import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DownstreamGuard, type DownstreamGuardOptions } from '../../functions/connectors/guard.js';
import { TerminalUpstreamError, TransientUpstreamError } from '../../functions/connectors/http.js';
import { dimensionSet, emittedMetrics } from './support/emf.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

vi.hoisted(() => {
  // Read when functions/shared/powertools.ts creates its Metrics instance, at import.
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'Switchyard';
  process.env.POWERTOOLS_SERVICE_NAME = 'downstream-metrics-test';
});

const START = 1_763_726_400_000;
const dynamoMock = mockClient(DynamoDBClient);

/** The error a promise rejects with (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describe('downstream call metrics (DownstreamGuard.run)', () => {
  let logs: CapturedLogs;
  let now: number;

  /** A guard of `accounting` on a clock that only moves when a call takes time. */
  function guard(options: Partial<DownstreamGuardOptions> = {}): DownstreamGuard {
    return new DownstreamGuard({
      system: 'accounting',
      tableName: 'guards',
      dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      ...options,
    });
  }

  /** A call that takes `ms` milliseconds, then answers `value` or throws `error`. */
  const taking = (ms: number, error?: Error) => async (): Promise<string> => {
    now += ms;
    if (error) throw error;
    return 'answer';
  };

  beforeEach(() => {
    now = START;
    dynamoMock.reset();
    // A closed circuit and free rate slots.
    dynamoMock.on(GetItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
    logs = captureLogs();
  });

  afterEach(() => {
    logs.restore();
  });

  it('counts a call that succeeded as ok under [downstream, outcome], and its latency under [downstream]', async () => {
    // Act
    const answer = await guard().run(taking(120), 10_000);

    // Assess
    expect(answer).toBe('answer');
    expect(emittedMetrics(logs, 'DownstreamCall')).toEqual([
      {
        name: 'DownstreamCall',
        unit: 'Count',
        value: 1,
        namespace: 'Switchyard',
        dimensionSets: [dimensionSet('downstream', 'outcome')],
        dimensions: { downstream: 'accounting', outcome: 'ok' },
      },
    ]);
    expect(emittedMetrics(logs, 'DownstreamLatency')).toEqual([
      {
        name: 'DownstreamLatency',
        unit: 'Milliseconds',
        value: 120,
        namespace: 'Switchyard',
        dimensionSets: [dimensionSet('downstream')],
        dimensions: { downstream: 'accounting' },
      },
    ]);
  });

  it.each([
    ['transient', 'a 5xx', new TransientUpstreamError('POST invoices: HTTP 503')],
    ['transient', 'a 429', new TransientUpstreamError('POST invoices: HTTP 429', 5)],
    ['transient', 'a timeout', new TransientUpstreamError('POST invoices: timed out after 5000 ms')],
    ['terminal', 'a 4xx', new TerminalUpstreamError('POST invoices: HTTP 422', 422)],
    [
      'terminal',
      'an answer the connector cannot use',
      new TypeError('accounting answered without an invoice id'),
    ],
  ])('counts a call that failed with %s outcome for %s, with its latency', async (outcome, _, error) => {
    // Act
    const thrown = await rejectionOf(guard().run(taking(80, error), 10_000));

    // Assess
    expect(thrown).toBe(error);
    expect(emittedMetrics(logs, 'DownstreamCall').map((metric) => metric.dimensions)).toEqual([
      { downstream: 'accounting', outcome },
    ]);
    expect(emittedMetrics(logs, 'DownstreamLatency').map((metric) => metric.value)).toEqual([80]);
  });

  it('counts a call the connector never made for lack of time as transient, without a latency', async () => {
    // Act
    await rejectionOf(guard().run(taking(0, new TransientUpstreamError('no time left for the call')), 500));

    // Assess
    expect(emittedMetrics(logs, 'DownstreamCall').map((metric) => metric.dimensions.outcome)).toEqual([
      'transient',
    ]);
    expect(emittedMetrics(logs, 'DownstreamLatency')).toEqual([]);
  });

  it('counts a call refused while the circuit is open as refused, without calling and without a latency', async () => {
    // Prepare
    dynamoMock.on(GetItemCommand).resolves({
      Item: {
        pk: { S: 'breaker#accounting' },
        state: { S: 'open' },
        openUntil: { N: String(START + 30_000) },
      },
    });
    const call = vi.fn(taking(10));

    // Act
    const error = await rejectionOf(guard().run(call, 10_000));

    // Assess
    expect(error.name).toBe('CircuitOpenError');
    expect(call).not.toHaveBeenCalled();
    expect(emittedMetrics(logs, 'DownstreamCall')).toEqual([
      expect.objectContaining({
        value: 1,
        dimensionSets: [dimensionSet('downstream', 'outcome')],
        dimensions: { downstream: 'accounting', outcome: 'refused' },
      }),
    ]);
    expect(emittedMetrics(logs, 'DownstreamLatency')).toEqual([]);
  });

  it('counts a call refused for want of a rate slot as refused', async () => {
    // Prepare: the shared bucket is booked an hour ahead
    dynamoMock.on(UpdateItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: { pk: { S: 'rate#accounting' }, tat: { N: String(START + 3_600_000) } },
      }),
    );
    const call = vi.fn(taking(10));

    // Act
    const error = await rejectionOf(guard({ rate: { vendorLimitPerSecond: 10 } }).run(call, 10_000));

    // Assess
    expect(error.name).toBe('RateLimitedError');
    expect(call).not.toHaveBeenCalled();
    expect(emittedMetrics(logs, 'DownstreamCall').map((metric) => metric.dimensions.outcome)).toEqual([
      'refused',
    ]);
  });

  it('counts each call once, whatever the guard state writes around it', async () => {
    // Act
    const accounting = guard();
    await accounting.run(taking(5), 10_000);
    await rejectionOf(accounting.run(taking(5, new TransientUpstreamError('HTTP 502')), 10_000));
    await accounting.run(taking(5), 10_000);

    // Assess
    expect(emittedMetrics(logs, 'DownstreamCall').map((metric) => metric.dimensions.outcome)).toEqual([
      'ok',
      'transient',
      'ok',
    ]);
    expect(emittedMetrics(logs, 'DownstreamLatency')).toHaveLength(3);
  });
});
