import { BatchWriteItemCommand, DynamoDBClient, InternalServerError } from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stubFlowStarterEnv } from './support/handler-env.js';
import { lambdaContext, sqsEvent, sqsRecord } from './support/lambda.js';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:order-paid';
const LEDGER_TABLE = 'switchyard-ledger';
const sfnMock = mockClient(SFNClient);
const sqsMock = mockClient(SQSClient);
const dynamoMock = mockClient(DynamoDBClient);
let module: typeof import('../../functions/flow-starter/handler.js');

const routed = (eventKey: string) =>
  JSON.stringify({
    version: '0',
    id: `id-${Math.random()}`,
    source: 'switchyard.stripe',
    'detail-type': 'order.paid',
    detail: { eventKey, orderId: 'order_1' },
  });

const ledgerItems = () =>
  dynamoMock
    .commandCalls(BatchWriteItemCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.[LEDGER_TABLE] ?? [])
    .map((request) => unmarshall(request.PutRequest?.Item ?? {}));

beforeAll(async () => {
  stubFlowStarterEnv({
    STATE_MACHINE_ARN: STATE_MACHINE,
    MAX_RECEIVE_COUNT: '3',
    LEDGER_TABLE_NAME: LEDGER_TABLE,
  });
  module = await import('../../functions/flow-starter/handler.js');
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  sfnMock.reset();
  sqsMock.reset();
  dynamoMock.reset();
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  dynamoMock.on(BatchWriteItemCommand).resolves({});
});

describe('flow starter handler: event ledger', () => {
  it('records flow-started at the execution start, with its ARN', async () => {
    // Prepare
    const executionArn = `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:x`;
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn, startDate: new Date('2025-11-21T12:00:03.250Z') });

    // Act
    await module.handler(sqsEvent([sqsRecord(routed('stripe:evt_1'))]), lambdaContext());

    // Assess
    expect(ledgerItems()).toEqual([
      expect.objectContaining({
        pk: 'stripe:evt_1',
        sk: '2025-11-21T12:00:03.250Z#flow-started',
        stage: 'flow-started',
        source: 'stripe',
        eventType: 'order.paid',
        component: 'order-paid-starter',
        details: { flow: 'order-paid', executionArn },
      }),
    ]);
  });

  it('records duplicate, with the existing execution ARN, when the execution already exists', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    // Act
    const response = await module.handler(sqsEvent([sqsRecord(routed('stripe:evt_2'))]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ledgerItems()).toEqual([
      expect.objectContaining({
        pk: 'stripe:evt_2',
        stage: 'duplicate',
        details: {
          flow: 'order-paid',
          reason: 'ExecutionAlreadyExists',
          executionArn: `arn:aws:states:eu-west-1:123456789012:execution:order-paid:${module.executionName('order.paid', 'stripe:evt_2')}`,
        },
      }),
    ]);
  });

  it('records dead-lettered, to the order-paid-start queue, only when a start fails on the last receive', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).rejects(new Error('Step Functions is down'));

    // Act
    const response = await module.handler(
      sqsEvent([
        sqsRecord(routed('stripe:evt_early'), { messageId: 'early', receiveCount: 2 }),
        sqsRecord(routed('stripe:evt_last'), { messageId: 'last', receiveCount: 3 }),
      ]),
      lambdaContext(),
    );

    // Assess
    expect(response.batchItemFailures).toHaveLength(2);
    expect(ledgerItems()).toEqual([
      expect.objectContaining({
        pk: 'stripe:evt_last',
        stage: 'dead-lettered',
        failureSource: 'stripe',
        details: { queue: 'order-paid-start', errorName: 'Error', receiveCount: 3 },
      }),
    ]);
  });

  it('starts the flow and reports no failure when the ledger cannot be written', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:x`, startDate: new Date() });
    dynamoMock.on(BatchWriteItemCommand).rejects(new InternalServerError({ message: 'down', $metadata: {} }));

    // Act
    const response = await module.handler(sqsEvent([sqsRecord(routed('stripe:evt_3'))]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });
});
