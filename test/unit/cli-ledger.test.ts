import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventHistory, formatRow, InvalidSinceError, parseSince, recentFailures } from '../../cli/ledger.js';

const TABLE = 'Switchyard-EventLedgerTable-1ABC';
const dynamoMock = mockClient(DynamoDBClient);
const dynamodb = new DynamoDBClient({ region: 'eu-west-1' });

const item = (at: string, stage: string, extra: Record<string, unknown> = {}) =>
  marshall({ pk: 'stripe:evt_1', sk: `${at}#${stage}`, at, stage, source: 'stripe', expiresAt: 1, ...extra });

describe('eventHistory', () => {
  beforeEach(() => {
    dynamoMock.reset();
  });

  it("reads one event's entries with one Query on its key, oldest first, across result pages", async () => {
    // Prepare
    dynamoMock
      .on(QueryCommand)
      .resolvesOnce({
        Items: [item('2025-11-21T12:00:01.000Z', 'received', { eventType: 'checkout.session.completed' })],
        LastEvaluatedKey: marshall({ pk: 'stripe:evt_1', sk: '2025-11-21T12:00:01.000Z#received' }),
      })
      .resolvesOnce({
        Items: [
          item('2025-11-21T12:00:02.000Z', 'routed', {
            eventType: 'order.paid',
            component: 'router',
            traceId: '1-abc',
          }),
        ],
      });

    // Act
    const rows = await eventHistory(dynamodb, TABLE, 'stripe:evt_1');

    // Assess
    const calls = dynamoMock.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(calls).toHaveLength(2);
    // The SDK's paginator updates one input object between pages, so only its query fields are compared.
    expect(calls[0]).toMatchObject({
      TableName: TABLE,
      KeyConditionExpression: '#pk = :eventKey',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':eventKey': { S: 'stripe:evt_1' } },
      ScanIndexForward: true,
    });
    expect(calls[1]?.ExclusiveStartKey).toEqual(
      marshall({ pk: 'stripe:evt_1', sk: '2025-11-21T12:00:01.000Z#received' }),
    );
    expect(rows).toEqual([
      {
        eventKey: 'stripe:evt_1',
        at: '2025-11-21T12:00:01.000Z',
        stage: 'received',
        source: 'stripe',
        eventType: 'checkout.session.completed',
        details: {},
      },
      {
        eventKey: 'stripe:evt_1',
        at: '2025-11-21T12:00:02.000Z',
        stage: 'routed',
        source: 'stripe',
        eventType: 'order.paid',
        component: 'router',
        traceId: '1-abc',
        details: {},
      },
    ]);
  });
});

describe('recentFailures', () => {
  beforeEach(() => {
    dynamoMock.reset();
  });

  it("reads a source's failures since a time with one Query on the failures index, newest first", async () => {
    // Prepare
    dynamoMock.on(QueryCommand).resolves({
      Items: [
        item('2025-11-21T12:10:00.000Z', 'dead-lettered', { details: { errorName: 'MappingError' } }),
        item('2025-11-21T12:05:00.000Z', 'step-failed'),
        item('2025-11-21T12:01:00.000Z', 'failed'),
      ],
    });

    // Act
    const rows = await recentFailures(dynamodb, TABLE, 'stripe', {
      since: new Date('2025-11-21T12:00:00Z'),
      limit: 2,
    });

    // Assess
    expect(dynamoMock.commandCalls(QueryCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: TABLE,
        IndexName: 'failures',
        KeyConditionExpression: '#source = :source AND #at >= :since',
        ExpressionAttributeNames: { '#source': 'failureSource', '#at': 'at' },
        ExpressionAttributeValues: {
          ':source': { S: 'stripe' },
          ':since': { S: '2025-11-21T12:00:00.000Z' },
        },
        ScanIndexForward: false,
        Limit: 2,
      },
    ]);
    expect(rows.map((row) => [row.stage, row.details])).toEqual([
      ['dead-lettered', { errorName: 'MappingError' }],
      ['step-failed', {}],
    ]);
  });
});

describe('parseSince', () => {
  const now = Date.parse('2025-11-21T12:00:00Z');

  it.each([
    ['90', '2025-11-21T10:30:00.000Z'],
    ['0', '2025-11-21T12:00:00.000Z'],
    ['2025-11-20T08:00:00Z', '2025-11-20T08:00:00.000Z'],
    ['2025-11-20', '2025-11-20T00:00:00.000Z'],
  ])('reads %s as %s', (value, expected) => {
    // Act + Assess
    expect(parseSince(value, now).toISOString()).toBe(expected);
  });

  it.each(['yesterday', '-5', '1.5', '2025-13-45T00:00:00Z', ''])('refuses %j', (value) => {
    // Act
    const parse = () => parseSince(value, now);

    // Assess
    expect(parse).toThrow(InvalidSinceError);
  });
});

describe('formatRow', () => {
  const row = {
    eventKey: 'stripe:evt_1',
    at: '2025-11-21T12:00:03.250Z',
    stage: 'flow-started',
    source: 'stripe',
    eventType: 'order.paid',
    component: 'order-paid-starter',
    traceId: '1-691f9b41-fedcba9876543210fedcba98',
    details: { flow: 'order-paid', executionArn: 'arn:aws:states:eu-west-1:1:execution:order-paid:x', n: 2 },
  };

  it('prints time, stage, component, type, details and trace id on one line', () => {
    // Act
    const line = formatRow(row);

    // Assess
    expect(line.split(/\s{2,}/)).toEqual([
      '2025-11-21T12:00:03.250Z',
      'flow-started',
      'order-paid-starter',
      'order.paid',
      'flow=order-paid executionArn=arn:aws:states:eu-west-1:1:execution:order-paid:x n=2',
      'trace=1-691f9b41-fedcba9876543210fedcba98',
    ]);
  });

  it('puts the event key second for the failures of a source, and dashes for what an entry lacks', () => {
    // Act
    const line = formatRow(
      {
        eventKey: 'stripe:evt_2',
        at: '2025-11-21T12:00:00.000Z',
        stage: 'failed',
        source: 'stripe',
        details: {},
      },
      { withEventKey: true },
    );

    // Assess
    expect(line.split(/\s{2,}/)).toEqual([
      '2025-11-21T12:00:00.000Z',
      'stripe:evt_2',
      'failed',
      '-',
      '-',
      '-',
      'trace=-',
    ]);
  });
});
