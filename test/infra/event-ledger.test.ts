import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STAGES } from '../../bin/stages.js';
import { EventLedger } from '../../lib/event-ledger.js';
import { ServiceFunction } from '../../lib/service-function.js';
import { EVENT_LEDGER_OUTPUT_ID, SwitchyardStack } from '../../lib/switchyard-stack.js';

type Resource = { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** Logical id of the ledger table: stable, since a new id would replace the table and lose its history. */
const LEDGER_TABLE_ID = 'EventLedgerTable3F7C05F9';
/** The only writes a writer may make. */
const WRITE_ACTIONS = ['dynamodb:BatchWriteItem', 'dynamodb:PutItem'];

let template: ReturnType<Template['toJSON']>;
let resources: Record<string, Resource>;

beforeAll(() => {
  const settings = STAGES.production;
  if (!settings) throw new Error('no production stage');
  const stack = new SwitchyardStack(new App(), 'Switchyard', { settings, env: { region: 'eu-west-1' } });
  template = Template.fromStack(stack).toJSON();
  resources = template.Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const refId = (value: unknown): string | undefined => {
  const ref = value as { 'Fn::GetAtt'?: [string, string]; Ref?: string };
  return ref?.['Fn::GetAtt']?.[0] ?? ref?.Ref;
};
const mentionsLedger = (value: unknown) => JSON.stringify(value).includes(`"${LEDGER_TABLE_ID}"`);
const actionsOf = (statement: Statement) => [statement.Action].flat().sort();

/** Every policy statement that names the ledger table, with the role it is attached to. */
function ledgerStatements(): { role: string; statement: Statement }[] {
  return ofType('AWS::IAM::Policy').flatMap(([, policy]) => {
    const roles = ((policy.Properties?.Roles as unknown[] | undefined) ?? []).map(
      (role) => refId(role) ?? '',
    );
    const document = policy.Properties?.PolicyDocument as { Statement: Statement[] } | undefined;
    const statements = document?.Statement ?? [];
    return statements
      .filter((statement) => mentionsLedger(statement.Resource))
      .flatMap((statement) => roles.map((role) => ({ role, statement })));
  });
}

/** Logical id of the function whose role is `roleId`. */
function functionOfRole(roleId: string): string | undefined {
  return ofType('AWS::Lambda::Function').find(([, fn]) => refId(fn.Properties?.Role) === roleId)?.[0];
}

const environmentOf = (id: string) =>
  (resources[id]?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables ?? {};

describe('EventLedger in the stack', () => {
  it('is one retained, encrypted table with point-in-time recovery and TTL on expiresAt', () => {
    const table = resources[LEDGER_TABLE_ID];
    expect(table?.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(table?.DeletionPolicy).toBe('Retain');
    expect(table?.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Replicas: [
        expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });

  it('has the sparse failures index (failureSource, at), projecting all attributes', () => {
    expect(resources[LEDGER_TABLE_ID]?.Properties?.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'failures',
        KeySchema: [
          { AttributeName: 'failureSource', KeyType: 'HASH' },
          { AttributeName: 'at', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });

  it('lets its writers only PutItem and BatchWriteItem, on the table itself, never its index', () => {
    const statements = ledgerStatements();
    expect(statements.length).toBeGreaterThan(0);
    for (const { role, statement } of statements) {
      expect(statement.Effect, role).toBe('Allow');
      expect(
        actionsOf(statement).every((action) => WRITE_ACTIONS.includes(action)),
        role,
      ).toBe(true);
      expect(JSON.stringify(statement.Resource), role).not.toContain('/index');
    }
  });

  it('is written by the router, the flow starter, every step, the email sync and the flow, and read by no function', () => {
    const writers = new Set(
      ledgerStatements().map(({ role }) => functionOfRole(role) ?? resources[role]?.Type ?? role),
    );
    const functionIds = [...writers].filter((id) => resources[id]?.Type === 'AWS::Lambda::Function');
    expect(functionIds.map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'EmailSyncWorker',
      'InboxWorker',
      'OrderPaidFlowCreateInvoiceStep',
      'OrderPaidFlowSendReceiptStep',
      'OrderPaidFlowStarterWorker',
      'OrderPaidFlowUpdateCustomerStep',
      'OrderPaidFlowVoidInvoiceStep',
    ]);
    // The state machine's role writes `delivered` and `failed`.
    expect(writers).toContain('AWS::IAM::Role');
    expect(
      ledgerStatements().some(({ statement }) =>
        actionsOf(statement).some((action) => /Query|Scan|GetItem/.test(action)),
      ),
    ).toBe(false);
  });

  it('stays off the acknowledgement path: the ingest function can neither write it nor find it', () => {
    const [ingestId] = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('IngressIngest')) ?? [];
    expect(ingestId).toBeDefined();
    expect(environmentOf(ingestId ?? '')).not.toHaveProperty('LEDGER_TABLE_NAME');
    const ingestRole = refId(resources[ingestId ?? '']?.Properties?.Role);
    expect(ledgerStatements().map(({ role }) => role)).not.toContain(ingestRole);
  });

  it("tells each writer the table, the retention (30 days) and, for queue consumers, the queue's max receive count", () => {
    for (const [id] of ofType('AWS::Lambda::Function').filter(([id]) => mentionsLedger(environmentOf(id)))) {
      expect(environmentOf(id), id).toMatchObject({
        LEDGER_TABLE_NAME: { Ref: LEDGER_TABLE_ID },
        LEDGER_RETENTION_SECONDS: String(30 * 24 * 3600),
      });
    }
    for (const [id, mapping] of ofType('AWS::Lambda::EventSourceMapping')) {
      const queue = resources[refId(mapping.Properties?.EventSourceArn) ?? ''];
      const fn = refId(mapping.Properties?.FunctionName) ?? '';
      const policy = queue?.Properties?.RedrivePolicy as { maxReceiveCount?: number } | undefined;
      expect(policy?.maxReceiveCount, id).toBeDefined();
      expect(environmentOf(fn).MAX_RECEIVE_COUNT, id).toBe(String(policy?.maxReceiveCount));
    }
  });

  it('has the order-paid flow record delivered before it succeeds and failed before it fails, whatever the write does', () => {
    const [, machine] = ofType('AWS::StepFunctions::StateMachine')[0] ?? [];
    const join = machine?.Properties?.DefinitionString as { 'Fn::Join'?: [string, unknown[]] } | undefined;
    const parts = join?.['Fn::Join']?.[1] ?? [];
    const definition = JSON.parse(
      parts.map((part) => (typeof part === 'string' ? part : (refId(part) ?? 'TOKEN'))).join(''),
    ) as { States: Record<string, Record<string, unknown>> };
    const { RecordDelivered, RecordFailed, SendReceipt, EmitFlowFailed } = definition.States;

    expect(SendReceipt?.Next).toBe('RecordDelivered');
    expect(EmitFlowFailed?.Next).toBe('RecordFailed');
    for (const [state, next, stage] of [
      [RecordDelivered, 'OrderPaidDone', 'delivered'],
      [RecordFailed, 'OrderPaidFailed', 'failed'],
    ] as const) {
      expect(state).toMatchObject({
        Type: 'Task',
        QueryLanguage: 'JSONata',
        Resource: expect.stringMatching(/:states:::dynamodb:putItem$/),
        Arguments: { TableName: LEDGER_TABLE_ID, Item: { stage: { S: stage } } },
        Output: '{% $states.input %}',
        Next: next,
        Catch: [{ ErrorEquals: ['States.ALL'], Next: next, Output: '{% $states.input %}' }],
      });
    }
    expect(RecordFailed).toMatchObject({ Arguments: { Item: { failureSource: expect.anything() } } });
    expect(RecordDelivered?.Arguments).not.toHaveProperty('Item.failureSource');
    // The only way into OrderPaidFailed is through RecordFailed
    const intoFailed = Object.entries(definition.States).flatMap(([name, state]) =>
      [state.Next, ...((state.Catch as { Next: string }[] | undefined) ?? []).map((handler) => handler.Next)]
        .filter((next) => next === 'OrderPaidFailed')
        .map(() => name),
    );
    expect(new Set(intoFailed)).toEqual(new Set(['RecordFailed']));
  });

  it('outputs the table name for the operator CLI', () => {
    expect(template.Outputs?.[EVENT_LEDGER_OUTPUT_ID]).toMatchObject({ Value: { Ref: LEDGER_TABLE_ID } });
  });
});

describe('EventLedger', () => {
  it('keeps entries for the retention it is given', () => {
    // Prepare
    const stack = new Stack(new App(), 'Test');
    const ledger = new EventLedger(stack, 'Ledger', { retention: Duration.days(7) });
    const fn = new ServiceFunction(stack, 'Writer', { entry: 'router/handler.ts', serviceName: 'writer' });

    // Act
    ledger.grantWrite(fn);

    // Assess
    const writer = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0];
    expect(writer?.Properties?.Environment?.Variables?.LEDGER_RETENTION_SECONDS).toBe(String(7 * 24 * 3600));
  });
});
