import {
  BatchWriteItemCommand,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FAILURE_STAGES,
  Ledger,
  type LedgerEntry,
  LedgerStage,
  ledgerFromEnvironment,
  ledgerItem,
  rootTraceId,
  sourceOfEventKey,
} from '../../functions/shared/ledger.js';
import { onLastReceive } from '../../functions/shared/redelivery.js';
import { sqsRecord } from './support/lambda.js';

const TABLE = 'switchyard-ledger';
/** 2025-11-21T12:00:00.000Z */
const NOW = Date.UTC(2025, 10, 21, 12, 0, 0);
const THIRTY_DAYS = 30 * 24 * 3600;
const TRACE = '1-5759e988-bd862e3fe1be46a994272793';

const dynamoMock = mockClient(DynamoDBClient);

/** A ledger over the mocked client that records its warnings and metrics. */
function testLedger(options: { traceId?: () => string | undefined } = {}) {
  const warnings: { message: string; extra: unknown }[] = [];
  const counted: { name: string; unit: string; value: number }[] = [];
  const ledger = new Ledger({
    client: new DynamoDBClient({ region: 'eu-west-1' }),
    tableName: TABLE,
    retentionSeconds: THIRTY_DAYS,
    component: 'router',
    logger: {
      warn: (message: unknown, extra?: unknown) => warnings.push({ message: String(message), extra }),
    },
    metrics: { addMetric: (name, unit, value) => counted.push({ name, unit, value }) },
    traceId: options.traceId ?? (() => TRACE),
    now: () => NOW,
  });
  return { ledger, warnings, counted };
}

/** The items of every BatchWriteItem call, unmarshalled, per call. */
const writtenBatches = () =>
  dynamoMock
    .commandCalls(BatchWriteItemCommand)
    .map((call) =>
      (call.args[0].input.RequestItems?.[TABLE] ?? []).map((request) =>
        unmarshall(request.PutRequest?.Item ?? {}),
      ),
    );

describe('ledgerItem', () => {
  it('keys an entry by event key and <ISO time>#<stage>, with the source, TTL, trace id and details', () => {
    // Prepare
    const entry: LedgerEntry = {
      eventKey: 'stripe:evt_1',
      stage: LedgerStage.received,
      at: '2025-11-21T11:59:58Z',
      eventType: 'checkout.session.completed',
      details: { messageId: 'm-1', receiveCount: 2, replayed: true, absent: undefined },
    };

    // Act
    const item = unmarshall(
      ledgerItem(entry, { retentionSeconds: THIRTY_DAYS, component: 'router', traceId: TRACE, now: NOW }),
    );

    // Assess
    expect(item).toEqual({
      pk: 'stripe:evt_1',
      sk: '2025-11-21T11:59:58.000Z#received',
      at: '2025-11-21T11:59:58.000Z',
      stage: 'received',
      source: 'stripe',
      eventType: 'checkout.session.completed',
      component: 'router',
      traceId: TRACE,
      details: { messageId: 'm-1', receiveCount: 2, replayed: true },
      expiresAt: NOW / 1000 + THIRTY_DAYS,
    });
  });

  it.each(FAILURE_STAGES)('sets failureSource on the failure stage %s, for the failures index', (stage) => {
    // Act
    const item = unmarshall(
      ledgerItem({ eventKey: 'shopify:wh-1', stage }, { retentionSeconds: 60, now: NOW }),
    );

    // Assess
    expect(item.failureSource).toBe('shopify');
  });

  it.each(Object.values(LedgerStage).filter((stage) => !FAILURE_STAGES.includes(stage)))(
    'leaves failureSource out of the non-failure stage %s',
    (stage) => {
      // Act
      const item = unmarshall(
        ledgerItem({ eventKey: 'shopify:wh-1', stage }, { retentionSeconds: 60, now: NOW }),
      );

      // Assess
      expect(item).not.toHaveProperty('failureSource');
    },
  );

  it('orders entries of one event by time whatever form their time was given in', () => {
    // Prepare
    const times: LedgerEntry['at'][] = [
      '2025-11-21T12:00:00.5Z',
      NOW + 2000,
      new Date(NOW + 1000),
      '2025-11-21T12:00:00+00:00',
    ];

    // Act
    const keys = times.map(
      (at) =>
        unmarshall(ledgerItem({ eventKey: 'k:1', stage: 'routed', at }, { retentionSeconds: 1, now: NOW }))
          .sk,
    );

    // Assess
    expect([...keys].sort()).toEqual([keys[3], keys[0], keys[2], keys[1]]);
  });

  it('uses now for a time it cannot read, and appends the discriminator to the sort key', () => {
    // Act
    const item = unmarshall(
      ledgerItem(
        { eventKey: 'k:1', stage: LedgerStage.stepFailed, at: Number.NaN, discriminator: 'create-invoice' },
        { retentionSeconds: 1, now: NOW },
      ),
    );

    // Assess
    expect(item.sk).toBe('2025-11-21T12:00:00.000Z#step-failed#create-invoice');
  });

  it('keeps details short: a long string is cut at 256 characters', () => {
    // Act
    const item = unmarshall(
      ledgerItem(
        { eventKey: 'k:1', stage: 'failed', details: { errorName: 'x'.repeat(1000) } },
        { retentionSeconds: 1, now: NOW },
      ),
    );

    // Assess
    expect(item.details.errorName).toHaveLength(257);
  });
});

describe('Ledger.record', () => {
  beforeEach(() => {
    dynamoMock.reset();
  });

  it('writes the entries in one BatchWriteItem, with the invocation trace id unless an entry has its own', async () => {
    // Prepare
    dynamoMock.on(BatchWriteItemCommand).resolves({});
    const { ledger, counted } = testLedger();

    // Act
    await ledger.record([
      { eventKey: 'stripe:evt_1', stage: 'received', at: NOW - 2000, traceId: '1-aaaaaaaa-ingest' },
      { eventKey: 'stripe:evt_1', stage: 'routed', eventType: 'order.paid' },
    ]);

    // Assess
    expect(writtenBatches()).toEqual([
      [
        expect.objectContaining({ stage: 'received', traceId: '1-aaaaaaaa-ingest', component: 'router' }),
        expect.objectContaining({ stage: 'routed', traceId: TRACE, at: '2025-11-21T12:00:00.000Z' }),
      ],
    ]);
    expect(counted).toEqual([]);
  });

  it('writes no trace id when tracing is off, and nothing at all for no entries', async () => {
    // Prepare
    dynamoMock.on(BatchWriteItemCommand).resolves({});
    const { ledger } = testLedger({ traceId: () => undefined });

    // Act
    await ledger.record([]);
    await ledger.record([{ eventKey: 'stripe:evt_1', stage: 'routed' }]);

    // Assess
    expect(writtenBatches()).toHaveLength(1);
    expect(writtenBatches()[0]?.[0]).not.toHaveProperty('traceId');
  });

  it('splits more than 25 entries into batches of 25, and writes an entry repeated in one call once', async () => {
    // Prepare
    dynamoMock.on(BatchWriteItemCommand).resolves({});
    const { ledger } = testLedger();
    const entries: LedgerEntry[] = Array.from({ length: 30 }, (_, index) => ({
      eventKey: `github:d-${index}`,
      stage: 'received',
      at: NOW,
    }));

    // Act
    await ledger.record([...entries, { eventKey: 'github:d-0', stage: 'received', at: NOW }]);

    // Assess
    expect(writtenBatches().map((batch) => batch.length)).toEqual([25, 5]);
  });

  it('retries unprocessed items once', async () => {
    // Prepare
    dynamoMock
      .on(BatchWriteItemCommand)
      .callsFakeOnce((input: { RequestItems: Record<string, WriteRequest[]> }) => ({
        UnprocessedItems: { [TABLE]: input.RequestItems[TABLE]?.slice(1) },
      }))
      .resolves({});
    const { ledger, counted } = testLedger();

    // Act
    await ledger.record([
      { eventKey: 'stripe:evt_1', stage: 'received' },
      { eventKey: 'stripe:evt_1', stage: 'enqueued' },
    ]);

    // Assess
    expect(writtenBatches().map((batch) => batch.map((item) => item.stage))).toEqual([
      ['received', 'enqueued'],
      ['enqueued'],
    ]);
    expect(counted).toEqual([]);
  });

  it('swallows a failed write: logs the keys and error name, counts LedgerWriteFailed per entry lost', async () => {
    // Prepare
    dynamoMock
      .on(BatchWriteItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    const { ledger, warnings, counted } = testLedger();

    // Act
    const written = ledger.record([
      { eventKey: 'stripe:evt_1', stage: 'routed' },
      { eventKey: 'stripe:evt_2', stage: 'dead-lettered', details: { errorName: 'MappingError' } },
    ]);

    // Assess
    await expect(written).resolves.toBeUndefined();
    expect(counted).toEqual([{ name: 'LedgerWriteFailed', unit: 'Count', value: 2 }]);
    expect(warnings).toEqual([
      {
        message: 'ledger entries not written',
        extra: {
          errorName: 'ProvisionedThroughputExceededException',
          entries: [
            { eventKey: 'stripe:evt_1', stage: 'routed' },
            { eventKey: 'stripe:evt_2', stage: 'dead-lettered' },
          ],
        },
      },
    ]);
  });

  it('after a failed call, tries no further batch of the same record call and counts them all as lost', async () => {
    // Prepare
    dynamoMock
      .on(BatchWriteItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    const { ledger, counted } = testLedger();
    const entries: LedgerEntry[] = Array.from({ length: 60 }, (_, index) => ({
      eventKey: `github:d-${index}`,
      stage: 'received',
    }));

    // Act
    await ledger.record(entries);

    // Assess
    expect(dynamoMock.commandCalls(BatchWriteItemCommand)).toHaveLength(1);
    expect(counted.reduce((sum, metric) => sum + metric.value, 0)).toBe(60);
  });

  it('counts the items still unprocessed after the retry as lost', async () => {
    // Prepare
    dynamoMock
      .on(BatchWriteItemCommand)
      .callsFake((input: { RequestItems: Record<string, WriteRequest[]> }) => ({
        UnprocessedItems: { [TABLE]: input.RequestItems[TABLE] },
      }));
    const { ledger, counted, warnings } = testLedger();

    // Act
    await ledger.record([{ eventKey: 'stripe:evt_1', stage: 'routed' }]);

    // Assess
    expect(dynamoMock.commandCalls(BatchWriteItemCommand)).toHaveLength(2);
    expect(counted).toEqual([{ name: 'LedgerWriteFailed', unit: 'Count', value: 1 }]);
    expect(warnings[0]?.extra).toMatchObject({ errorName: 'UnprocessedItems' });
  });

  it('still writes when reading the trace id throws', async () => {
    // Prepare
    dynamoMock.on(BatchWriteItemCommand).resolves({});
    const { ledger } = testLedger({
      traceId: () => {
        throw new Error('no segment');
      },
    });

    // Act
    await ledger.record([{ eventKey: 'stripe:evt_1', stage: 'routed' }]);

    // Assess
    expect(writtenBatches()[0]).toHaveLength(1);
  });
});

describe('ledgerFromEnvironment', () => {
  const powertools = {
    logger: { warn: () => undefined },
    metrics: { addMetric: () => undefined },
    tracer: { getRootXrayTraceId: () => TRACE },
  };

  beforeEach(() => {
    dynamoMock.reset();
    dynamoMock.on(BatchWriteItemCommand).resolves({});
    vi.stubEnv('LEDGER_TABLE_NAME', TABLE);
    vi.stubEnv('LEDGER_RETENTION_SECONDS', '86400');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'email-sync');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('writes to the table of LEDGER_TABLE_NAME, kept LEDGER_RETENTION_SECONDS, as the service', async () => {
    // Prepare
    const ledger = ledgerFromEnvironment(new DynamoDBClient({ region: 'eu-west-1' }), powertools);
    const before = Math.floor(Date.now() / 1000);

    // Act
    await ledger.record([{ eventKey: 'crm:msg_1', stage: 'delivered' }]);

    // Assess
    const [item] = writtenBatches()[0] ?? [];
    expect(item).toMatchObject({ component: 'email-sync', traceId: TRACE, source: 'crm' });
    expect(item?.expiresAt).toBeGreaterThanOrEqual(before + 86_400);
    expect(item?.expiresAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 86_400);
  });

  it.each([
    ['LEDGER_TABLE_NAME', '', 'environment variable LEDGER_TABLE_NAME is not set'],
    ['LEDGER_RETENTION_SECONDS', 'a month', 'LEDGER_RETENTION_SECONDS is not a positive integer'],
    ['LEDGER_RETENTION_SECONDS', '0', 'LEDGER_RETENTION_SECONDS is not a positive integer'],
  ])('fails fast when %s is %j', (name, value, message) => {
    // Prepare
    vi.stubEnv(name, value);

    // Act
    const create = () => ledgerFromEnvironment(new DynamoDBClient({ region: 'eu-west-1' }), powertools);

    // Assess
    expect(create).toThrow(message);
  });
});

describe('sourceOfEventKey and rootTraceId', () => {
  it.each([
    ['stripe:evt_1', 'stripe'],
    ['github:a:b', 'github'],
    ['no-colon', 'no-colon'],
  ])('takes the source of %s as %s', (eventKey, source) => {
    // Act + Assess
    expect(sourceOfEventKey(eventKey)).toBe(source);
  });

  it.each([
    [`Root=${TRACE};Parent=53995c3f42cd8ad8;Sampled=1`, TRACE],
    [`Parent=53995c3f42cd8ad8;Root=${TRACE}`, TRACE],
    ['Parent=53995c3f42cd8ad8;Sampled=1', undefined],
    [undefined, undefined],
  ])('reads the root trace id of the header %j', (header, root) => {
    // Act + Assess
    expect(rootTraceId(header)).toBe(root);
  });
});

describe('onLastReceive', () => {
  it.each([
    [4, 5, false],
    [5, 5, true],
    [6, 5, true],
    [1, 1, true],
  ])('receive %i of at most %i is the last: %s', (receiveCount, maxReceiveCount, last) => {
    // Act + Assess
    expect(onLastReceive(sqsRecord('{}', { receiveCount }), maxReceiveCount)).toBe(last);
  });
});
