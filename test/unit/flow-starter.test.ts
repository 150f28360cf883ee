import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stubFlowStarterEnv } from './support/handler-env.js';
import { lambdaContext, sqsEvent, sqsRecord } from './support/lambda.js';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:order-paid';
const sfnMock = mockClient(SFNClient);
const sqsMock = mockClient(SQSClient);
const dynamoMock = mockClient(DynamoDBClient);
let module: typeof import('../../functions/flow-starter/handler.js');

const routed = (eventKey: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: '0',
    id: `id-${Math.random()}`,
    time: new Date().toISOString(),
    source: 'switchyard.stripe',
    'detail-type': 'order.paid',
    detail: { eventKey, orderId: 'order_1' },
    ...extra,
  });

beforeAll(async () => {
  stubFlowStarterEnv({ STATE_MACHINE_ARN: STATE_MACHINE });
  module = await import('../../functions/flow-starter/handler.js');
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  sfnMock.reset();
  sqsMock.reset();
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  dynamoMock.reset();
  dynamoMock.on(BatchWriteItemCommand).resolves({});
});

describe('executionName', () => {
  it('is the detail type and the SHA-256 of the event key: allowed characters, at most 80, stable', () => {
    // Act
    const name = module.executionName('order.paid', 'stripe:evt_1/ä?*');

    // Assess
    expect(name).toMatch(/^order-paid-[0-9a-f]{64}$/);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(module.executionName('order.paid', 'stripe:evt_1/ä?*')).toBe(name);
    expect(module.executionName('order.paid', 'stripe:evt_2')).not.toBe(name);
  });
});

describe('flow starter handler', () => {
  it('starts one execution per event, named after its event key, with an input that is stable across deliveries', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:x` });

    // Act
    const response = await module.handler(
      sqsEvent([
        sqsRecord(routed('stripe:evt_1')),
        sqsRecord(routed('stripe:evt_1', { 'replay-name': 'r1' })),
      ]),
      lambdaContext(),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const [first, second] = sfnMock.commandCalls(StartExecutionCommand).map((call) => call.args[0].input);
    expect(first?.name).toBe(module.executionName('order.paid', 'stripe:evt_1'));
    expect(second?.name).toBe(first?.name);
    expect(second?.input).toBe(first?.input);
    expect(JSON.parse(first?.input ?? '{}')).toEqual({
      source: 'switchyard.stripe',
      'detail-type': 'order.paid',
      detail: { eventKey: 'stripe:evt_1', orderId: 'order_1' },
    });
  });

  it('takes ExecutionAlreadyExists as a duplicate start, not a failure', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    // Act
    const response = await module.handler(sqsEvent([sqsRecord(routed('stripe:evt_2'))]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('reports a record whose start failed, and a malformed one, and backs them off', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).rejects(new Error('Step Functions is down'));
    const failing = sqsRecord(routed('stripe:evt_3'), { messageId: 'm-down' });
    const malformed = sqsRecord('{"detail":{}}', { messageId: 'm-bad' });

    // Act
    const response = await module.handler(sqsEvent([failing, malformed]), lambdaContext());

    // Assess
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual([
      'm-bad',
      'm-down',
    ]);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(1);
  });
});
