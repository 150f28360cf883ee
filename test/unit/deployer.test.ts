import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  PutCompositeAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { alarmRuleWithoutLeftOut, checkConformance } from '../../local/conformance.js';
import { createDeferred, EMULATOR_GAPS, planDeployment, type Template } from '../../local/deployer.js';
import { leftOutMarker, StackResolver } from '../../local/intrinsics.js';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const STACK = 'App';
const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:app-topic`;
const alarmArn = (name: string) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${name}`;

/** The shape CDK synthesizes: `ALARM("<arn>") OR …` joined around `Fn::GetAtt <alarm>.Arn`. */
const anyOf = (...ids: string[]) => ({
  'Fn::Join': [
    '',
    [
      '(',
      ...ids.flatMap((id, index) => [
        ...(index > 0 ? [' OR '] : []),
        'ALARM("',
        { 'Fn::GetAtt': [id, 'Arn'] },
        '")',
      ]),
      ')',
    ],
  ],
});

/**
 * A hub in miniature: a plain alarm and a metric-math alarm, a component composite of both suppressed by another
 * composite (listed after it), a dashboard showing every alarm, and an output naming the component.
 */
function hubTemplate(): Template {
  return {
    Resources: {
      Topic: { Type: 'AWS::SNS::Topic' },
      QueueAge: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 300 },
      },
      ErrorRate: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: { Metrics: [{ Id: 'expr_1', Expression: 'errors / invocations' }], Threshold: 0.05 },
      },
      Component: {
        Type: 'AWS::CloudWatch::CompositeAlarm',
        Properties: {
          AlarmName: 'AppComponent',
          AlarmRule: anyOf('QueueAge', 'ErrorRate'),
          AlarmActions: [{ Ref: 'Topic' }],
          OKActions: [{ Ref: 'Topic' }],
          ActionsSuppressor: { 'Fn::GetAtt': ['Suppressor', 'Arn'] },
          ActionsSuppressorWaitPeriod: 120,
          ActionsSuppressorExtensionPeriod: 900,
        },
      },
      Suppressor: {
        Type: 'AWS::CloudWatch::CompositeAlarm',
        Properties: { AlarmName: 'AppSuppressor', AlarmRule: anyOf('QueueAge') },
      },
      Dashboard: {
        Type: 'AWS::CloudWatch::Dashboard',
        DependsOn: ['Component', 'Topic'],
        Properties: {
          DashboardBody: {
            'Fn::Join': [
              '',
              [
                '{"alarms":["',
                { 'Fn::GetAtt': ['QueueAge', 'Arn'] },
                '","',
                { 'Fn::GetAtt': ['ErrorRate', 'Arn'] },
                '","',
                { 'Fn::GetAtt': ['Component', 'Arn'] },
                '"]}',
              ],
            ],
          },
        },
      },
    },
    Outputs: { ComponentName: { Value: { Ref: 'Component' } } },
  };
}

describe('planDeployment', () => {
  it('creates composite alarms after the stack on MiniStack, each after the composites it refers to', () => {
    // Act
    const plan = planDeployment(hubTemplate(), 'ministack', STACK);

    // Assess
    expect(plan.deferred.map((item) => [item.logicalId, item.name])).toEqual([
      ['Suppressor', 'AppSuppressor'],
      ['Component', 'AppComponent'],
    ]);
    expect(Object.keys(plan.deployable.Resources)).toEqual(['Topic', 'QueueAge', 'Dashboard']);
    expect(plan.notes).toContainEqual(
      expect.stringMatching(
        /^ministack cannot create AWS::CloudWatch::CompositeAlarm through CloudFormation \(.*PutCompositeAlarm\): created after the stack: Component, Suppressor$/,
      ),
    );
  });

  it('leaves metric-math alarms out on MiniStack, printing why, and says which properties it cannot compare', () => {
    // Act
    const plan = planDeployment(hubTemplate(), 'ministack', STACK);

    // Assess
    expect(Object.keys(plan.leftOut)).toEqual(['ErrorRate']);
    expect(plan.leftOut.ErrorRate).toMatch(
      /metric-math alarm: MiniStack 1\.5\.33 CloudFormation rejects Properties\.Metrics/,
    );
    expect(plan.notes).toContainEqual(
      expect.stringMatching(/^ministack: left out 1 resource\(s\), a metric-math alarm.*: ErrorRate$/),
    );
    expect(plan.unchecked.map((entry) => entry.property)).toEqual([
      'ActionsSuppressor',
      'ActionsSuppressorWaitPeriod',
      'ActionsSuppressorExtensionPeriod',
    ]);
    expect(plan.notes).toContainEqual(
      expect.stringMatching(/ActionsSuppressor is not compared: MiniStack 1\.5\.33/),
    );
  });

  it('gives the stack the names and ARNs of alarms outside it, and drops DependsOn on them', () => {
    // Act
    const plan = planDeployment(hubTemplate(), 'ministack', STACK);

    // Assess
    const arn = (name: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${name}`,
    });
    const dashboard = plan.deployable.Resources.Dashboard;
    expect(dashboard?.DependsOn).toEqual(['Topic']);
    expect(
      (dashboard?.Properties?.DashboardBody as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.[
        'Fn::Join'
      ]?.[1],
    ).toEqual([
      '{"alarms":["',
      { 'Fn::GetAtt': ['QueueAge', 'Arn'] },
      '","',
      arn('App-ErrorRate'),
      '","',
      arn('AppComponent'),
      '"]}',
    ]);
    expect(plan.deployable.Outputs).toEqual({ ComponentName: { Value: 'AppComponent' } });
    expect(plan.notes).toContainEqual(
      expect.stringMatching(/replaced by their name or ARN: Dashboard, Outputs$/),
    );
  });

  it('refuses a reference to a deferred resource whose value the deployer cannot know', () => {
    // Prepare: an output naming the archive, which MiniStack gets through CreateArchive
    const template: Template = {
      Resources: { Archive: { Type: 'AWS::Events::Archive', Properties: { SourceArn: 'arn:bus' } } },
      Outputs: { ArchiveArn: { Value: { 'Fn::GetAtt': ['Archive', 'Arn'] } } },
    };

    // Act
    const plan = () => planDeployment(template, 'ministack', STACK);

    // Assess
    expect(plan).toThrow(/Outputs refers to Archive \(AWS::Events::Archive, Arn\)/);
  });

  it('refuses deferred resources that refer to each other in a cycle', () => {
    // Prepare
    const template = hubTemplate();
    const suppressor = template.Resources.Suppressor;
    if (suppressor?.Properties)
      suppressor.Properties.ActionsSuppressor = { 'Fn::GetAtt': ['Component', 'Arn'] };

    // Act
    const plan = () => planDeployment(template, 'ministack', STACK);

    // Assess
    expect(plan).toThrow(/deferred resources refer to each other: .*Component → Suppressor → Component/);
  });

  it('changes nothing for an emulator that can create everything', () => {
    // Act
    const plan = planDeployment(hubTemplate(), 'other', STACK);

    // Assess
    expect(plan.deployable).toEqual(hubTemplate());
    expect(plan).toMatchObject({ deferred: [], leftOut: {}, unchecked: [], notes: [] });
    expect(EMULATOR_GAPS.other.leftOut).toEqual([]);
  });
});

describe('alarmRuleWithoutLeftOut', () => {
  it('turns a left-out child into FALSE, so the composite still pages for the others', () => {
    const rule = `(ALARM("${alarmArn('a')}") OR ALARM("${leftOutMarker('ErrorRate')}"))`;
    expect(alarmRuleWithoutLeftOut(rule)).toBe(`(ALARM("${alarmArn('a')}") OR FALSE)`);
  });

  it('refuses a left-out alarm in any other form, where FALSE would change the meaning', () => {
    const rule = `ALARM("${alarmArn('a')}") AND NOT OK("${leftOutMarker('ErrorRate')}")`;
    expect(() => alarmRuleWithoutLeftOut(rule)).toThrow(/other than as ALARM\(…\): ErrorRate/);
  });
});

/** Real SDK clients, each with an aws-sdk-client-mock stub. */
function mockCloud() {
  const config = { region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const clients = {
    cloudformation: new CloudFormationClient(config),
    sqs: new SQSClient(config),
    lambda: new LambdaClient(config),
    eventbridge: new EventBridgeClient(config),
    dynamodb: new DynamoDBClient(config),
    sfn: new SFNClient(config),
    cloudwatch: new CloudWatchClient(config),
    apigateway: new APIGatewayClient(config),
    sns: new SNSClient(config),
  };
  const mocks = {
    cloudformation: mockClient(clients.cloudformation),
    cloudwatch: mockClient(clients.cloudwatch),
    sns: mockClient(clients.sns),
  };
  mocks.cloudformation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: STACK,
        StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${STACK}/1`,
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
      },
    ],
  });
  // What MiniStack's CloudFormation created: the topic and the plain alarm.
  mocks.cloudformation.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: [
      ['Topic', TOPIC_ARN, 'AWS::SNS::Topic'],
      ['QueueAge', 'App-QueueAge-1', 'AWS::CloudWatch::Alarm'],
    ].map(([logicalId, physicalId, type]) => ({
      LogicalResourceId: logicalId,
      PhysicalResourceId: physicalId,
      ResourceType: type,
      ResourceStatus: 'CREATE_COMPLETE',
      LastUpdatedTimestamp: new Date(),
    })),
  });
  mocks.cloudwatch
    .on(DescribeAlarmsCommand, { AlarmNames: ['App-QueueAge-1'] })
    .resolves({ MetricAlarms: [{ AlarmName: 'App-QueueAge-1', AlarmArn: alarmArn('App-QueueAge-1') }] });
  for (const name of ['AppSuppressor', 'AppComponent']) {
    mocks.cloudwatch
      .on(DescribeAlarmsCommand, { AlarmNames: [name], AlarmTypes: ['CompositeAlarm'] })
      .resolves({
        CompositeAlarms: [
          {
            AlarmName: name,
            AlarmArn: alarmArn(name),
            AlarmRule:
              name === 'AppSuppressor'
                ? `(ALARM("${alarmArn('App-QueueAge-1')}"))`
                : `(ALARM("${alarmArn('App-QueueAge-1')}") OR FALSE)`,
            ActionsEnabled: true,
            AlarmActions: [TOPIC_ARN],
            OKActions: [TOPIC_ARN],
            InsufficientDataActions: [],
          },
        ],
      });
  }
  return { clients, mocks };
}

describe('createDeferred', () => {
  let cloud: ReturnType<typeof mockCloud>;
  beforeEach(() => {
    cloud = mockCloud();
  });

  it('puts a composite alarm with its rule, actions and suppressor resolved, a left-out child as FALSE', async () => {
    // Prepare: the suppressor was created first, through the API
    const template = hubTemplate();
    const plan = planDeployment(template, 'ministack', STACK);
    const resolver = await StackResolver.load(STACK, cloud.clients, template);
    resolver.leaveOut('ErrorRate');
    cloud.mocks.cloudwatch.on(PutCompositeAlarmCommand).resolves({});
    const [suppressor, component] = plan.deferred;
    if (!suppressor || !component) throw new Error('the plan defers two composites');

    // Act
    const suppressorId = await createDeferred(cloud.clients, suppressor, resolver);
    resolver.adopt({
      logicalId: 'Suppressor',
      type: 'AWS::CloudWatch::CompositeAlarm',
      physicalId: suppressorId,
      status: 'CREATE_COMPLETE',
    });
    const componentId = await createDeferred(cloud.clients, component, resolver);

    // Assess
    expect([suppressorId, componentId]).toEqual(['AppSuppressor', 'AppComponent']);
    const puts = cloud.mocks.cloudwatch
      .commandCalls(PutCompositeAlarmCommand)
      .map((call) => call.args[0].input);
    expect(puts[1]).toEqual({
      AlarmName: 'AppComponent',
      AlarmRule: `(ALARM("${alarmArn('App-QueueAge-1')}") OR FALSE)`,
      AlarmActions: [TOPIC_ARN],
      OKActions: [TOPIC_ARN],
      ActionsSuppressor: alarmArn('AppSuppressor'),
      ActionsSuppressorWaitPeriod: 120,
      ActionsSuppressorExtensionPeriod: 900,
    });
  });

  it('fails when the emulator does not have the composite alarm afterwards', async () => {
    // Prepare
    const template = hubTemplate();
    const [suppressor] = planDeployment(template, 'ministack', STACK).deferred;
    const resolver = await StackResolver.load(STACK, cloud.clients, template);
    cloud.mocks.cloudwatch.on(PutCompositeAlarmCommand).resolves({});
    cloud.mocks.cloudwatch
      .on(DescribeAlarmsCommand, { AlarmNames: ['AppSuppressor'], AlarmTypes: ['CompositeAlarm'] })
      .resolves({ CompositeAlarms: [] });

    // Act
    const create = suppressor ? createDeferred(cloud.clients, suppressor, resolver) : Promise.resolve('');

    // Assess
    await expect(create).rejects.toThrow(/composite alarm AppSuppressor was not created/);
  });

  it('refuses a composite whose suppressor is an alarm left out of the deployment', async () => {
    // Prepare
    const template = hubTemplate();
    const suppressor = template.Resources.Suppressor;
    if (suppressor?.Properties)
      suppressor.Properties.ActionsSuppressor = { 'Fn::GetAtt': ['ErrorRate', 'Arn'] };
    const [first] = planDeployment(template, 'ministack', STACK).deferred;
    const resolver = await StackResolver.load(STACK, cloud.clients, template);
    resolver.leaveOut('ErrorRate');

    // Act
    const create = first ? createDeferred(cloud.clients, first, resolver) : Promise.resolve('');

    // Assess
    await expect(create).rejects.toThrow(
      /Suppressor refers to alarms left out of the deployment outside its rule/,
    );
    expect(cloud.mocks.cloudwatch.commandCalls(PutCompositeAlarmCommand)).toHaveLength(0);
  });
});

describe('checkConformance with what the deployer did on purpose', () => {
  it('checks composite alarms created outside the stack, expects no left-out alarm and skips what MiniStack drops', async () => {
    // Prepare
    const cloud = mockCloud();
    const template = hubTemplate();
    const plan = planDeployment(template, 'ministack', STACK);
    const checked = {
      ...plan.deployable,
      Resources: {
        ...plan.deployable.Resources,
        ...Object.fromEntries(plan.deferred.map((item) => [item.logicalId, item.resource])),
      },
    };
    const outside = plan.deferred.map((item) => ({
      logicalId: item.logicalId,
      type: item.resource.Type,
      physicalId: item.name,
      status: 'CREATE_COMPLETE',
    }));

    // Act
    const clean = await checkConformance({
      stackName: STACK,
      template: { ...checked, Resources: { ...checked.Resources, ErrorRate: template.Resources.ErrorRate } },
      clients: cloud.clients,
      outside,
      leftOut: plan.leftOut,
      unchecked: plan.unchecked,
    });
    const strict = await checkConformance({
      stackName: STACK,
      template: checked,
      clients: cloud.clients,
      outside,
      leftOut: plan.leftOut,
    });

    // Assess: with MiniStack's gaps declared nothing drifts; without them the dropped suppressor shows
    expect(clean.filter((drift) => drift.resourceType.startsWith('AWS::CloudWatch::Composite'))).toEqual([]);
    expect(clean.filter((drift) => drift.logicalId === 'ErrorRate')).toEqual([]);
    expect(
      strict
        .filter((drift) => drift.logicalId === 'Component')
        .map((drift) => [drift.property, drift.actual]),
    ).toEqual([
      ['ActionsSuppressor', 'absent'],
      ['ActionsSuppressorWaitPeriod', 'absent'],
      ['ActionsSuppressorExtensionPeriod', 'absent'],
    ]);
  });

  it('reports a composite alarm whose rule differs from the template', async () => {
    // Prepare
    const cloud = mockCloud();
    const template = hubTemplate();
    const plan = planDeployment(template, 'ministack', STACK);
    cloud.mocks.cloudwatch
      .on(DescribeAlarmsCommand, { AlarmNames: ['AppSuppressor'], AlarmTypes: ['CompositeAlarm'] })
      .resolves({ CompositeAlarms: [{ AlarmName: 'AppSuppressor', AlarmRule: 'FALSE' }] });

    // Act
    const drifts = await checkConformance({
      stackName: STACK,
      template: { Resources: { Suppressor: template.Resources.Suppressor } },
      clients: cloud.clients,
      outside: plan.deferred.map((item) => ({
        logicalId: item.logicalId,
        type: item.resource.Type,
        physicalId: item.name,
        status: 'CREATE_COMPLETE',
      })),
      leftOut: plan.leftOut,
      unchecked: plan.unchecked,
    });

    // Assess
    expect(drifts.map(({ property, expected, actual }) => ({ property, expected, actual }))).toEqual([
      { property: 'AlarmRule', expected: `(ALARM("${alarmArn('App-QueueAge-1')}"))`, actual: 'FALSE' },
    ]);
  });
});
