import { APIGatewayClient, GetStageCommand, UpdateStageCommand } from '@aws-sdk/client-api-gateway';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type Parameter,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { DescribeStateMachineCommand, SFNClient, UpdateStateMachineCommand } from '@aws-sdk/client-sfn';
import { GetTopicAttributesCommand, SetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type ConformanceClients, checkConformance, type Drift } from '../../local/conformance.js';
import { IntrinsicError, StackResolver } from '../../local/intrinsics.js';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const STACK = 'App';
const queueUrl = (name: string) => `http://localhost:4566/${ACCOUNT}/${name}`;
const queueArn = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
const BUS_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/app-bus`;

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** Real SDK clients, each with an aws-sdk-client-mock stub, so every call stops at the SDK boundary. */
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
  } satisfies ConformanceClients;
  const mocks = {
    cloudformation: mockClient(clients.cloudformation),
    sqs: mockClient(clients.sqs),
    lambda: mockClient(clients.lambda),
    eventbridge: mockClient(clients.eventbridge),
    dynamodb: mockClient(clients.dynamodb),
    sfn: mockClient(clients.sfn),
    apigateway: mockClient(clients.apigateway),
    sns: mockClient(clients.sns),
  };
  return { clients, mocks };
}

type Cloud = ReturnType<typeof mockCloud>;

/** Answers DescribeStacks and ListStackResources for stack `App` with the given physical ids. */
function givenStack(
  cloud: Cloud,
  resources: Resources,
  physicalIds: Record<string, string>,
  parameters: Parameter[] = [],
) {
  cloud.mocks.cloudformation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: STACK,
        StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${STACK}/1`,
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Parameters: parameters,
      },
    ],
  });
  cloud.mocks.cloudformation.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: Object.entries(physicalIds).map(([logicalId, physicalId]) => ({
      LogicalResourceId: logicalId,
      PhysicalResourceId: physicalId,
      ResourceType: resources[logicalId]?.Type ?? 'AWS::CloudFormation::WaitConditionHandle',
      ResourceStatus: 'CREATE_COMPLETE',
      LastUpdatedTimestamp: new Date(),
    })),
  });
}

/** A deployed queue named `name` whose GetQueueAttributes returns its ARN and `attributes`. */
function givenQueue(cloud: Cloud, name: string, attributes: Record<string, string> = {}) {
  cloud.mocks.sqs
    .on(GetQueueAttributesCommand, { QueueUrl: queueUrl(name) })
    .resolves({ Attributes: { QueueArn: queueArn(name), ...attributes } });
}

const check = (cloud: Cloud, resources: Resources) =>
  checkConformance({ stackName: STACK, template: { Resources: resources }, clients: cloud.clients });

/** Drifts without their patch functions, for readable equality assertions. */
const summary = (drifts: Drift[]) =>
  drifts.map(({ patch, ...drift }) => ({ ...drift, patched: Boolean(patch) }));

const notImplemented = (name: string) => Object.assign(new Error(`${name} is not implemented`), { name });

describe('checkConformance', () => {
  let cloud: Cloud;
  beforeEach(() => {
    cloud = mockCloud();
  });

  const queues: Resources = {
    Dlq: { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 1209600 } },
    Queue: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        VisibilityTimeout: 180,
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 5 },
      },
    },
  };
  const redrivePolicy = { deadLetterTargetArn: queueArn('app-Dlq'), maxReceiveCount: 5 };

  it('reports no drift for queues that match their template', async () => {
    // Prepare
    givenStack(cloud, queues, { Dlq: queueUrl('app-Dlq'), Queue: queueUrl('app-Queue') });
    givenQueue(cloud, 'app-Dlq', { MessageRetentionPeriod: '1209600' });
    givenQueue(cloud, 'app-Queue', {
      VisibilityTimeout: '180',
      SqsManagedSseEnabled: 'true',
      RedrivePolicy: JSON.stringify(redrivePolicy),
    });

    // Act
    const drifts = await check(cloud, queues);

    // Assess
    expect(drifts).toEqual([]);
  });

  it('reports a queue without its RedrivePolicy and patches it with SetQueueAttributes', async () => {
    // Prepare
    givenStack(cloud, queues, { Dlq: queueUrl('app-Dlq'), Queue: queueUrl('app-Queue') });
    givenQueue(cloud, 'app-Dlq', { MessageRetentionPeriod: '1209600' });
    givenQueue(cloud, 'app-Queue', { VisibilityTimeout: '180', SqsManagedSseEnabled: 'true' });

    // Act
    const drifts = await check(cloud, queues);
    await drifts[0]?.patch?.apply();

    // Assess
    expect(summary(drifts)).toEqual([
      {
        logicalId: 'Queue',
        resourceType: 'AWS::SQS::Queue',
        property: 'RedrivePolicy',
        expected: redrivePolicy,
        actual: 'absent',
        patched: true,
      },
    ]);
    expect(cloud.mocks.sqs.commandCalls(SetQueueAttributesCommand).map((call) => call.args[0].input)).toEqual(
      [{ QueueUrl: queueUrl('app-Queue'), Attributes: { RedrivePolicy: JSON.stringify(redrivePolicy) } }],
    );
  });

  it('reports an event source mapping without ReportBatchItemFailures and patches it', async () => {
    // Prepare
    const resources: Resources = {
      Queue: { Type: 'AWS::SQS::Queue' },
      Fn: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler' } },
      Esm: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          FunctionName: { Ref: 'Fn' },
          EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
          BatchSize: 10,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        },
      },
    };
    givenStack(cloud, resources, { Queue: queueUrl('app-Queue'), Fn: 'app-Fn', Esm: 'uuid-1' });
    givenQueue(cloud, 'app-Queue');
    cloud.mocks.lambda.on(GetFunctionConfigurationCommand).resolves({ Handler: 'index.handler' });
    cloud.mocks.lambda
      .on(ListEventSourceMappingsCommand, { FunctionName: 'app-Fn', EventSourceArn: queueArn('app-Queue') })
      .resolves({
        EventSourceMappings: [{ UUID: 'uuid-1', EventSourceArn: queueArn('app-Queue'), BatchSize: 10 }],
      });

    // Act
    const drifts = await check(cloud, resources);
    await drifts[0]?.patch?.apply();

    // Assess
    expect(summary(drifts)).toEqual([
      {
        logicalId: 'Esm',
        resourceType: 'AWS::Lambda::EventSourceMapping',
        property: 'FunctionResponseTypes',
        expected: ['ReportBatchItemFailures'],
        actual: [],
        patched: true,
      },
    ]);
    expect(cloud.mocks.lambda.commandCalls(UpdateEventSourceMappingCommand)[0]?.args[0].input).toEqual({
      UUID: 'uuid-1',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  describe('for an event rule', () => {
    const target = {
      Id: 'Target0',
      Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['Dlq', 'Arn'] } },
      RetryPolicy: { MaximumRetryAttempts: 185 },
    };
    const resources: Resources = {
      Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'app-bus' } },
      Dlq: { Type: 'AWS::SQS::Queue' },
      Queue: { Type: 'AWS::SQS::Queue' },
      Rule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventBusName: { Ref: 'Bus' },
          EventPattern: { source: ['shop'], 'detail-type': ['order.paid'] },
          State: 'ENABLED',
          Targets: [target],
        },
      },
    };
    const resolvedTarget = {
      Id: 'Target0',
      Arn: queueArn('app-Queue'),
      DeadLetterConfig: { Arn: queueArn('app-Dlq') },
      RetryPolicy: { MaximumRetryAttempts: 185 },
    };

    beforeEach(() => {
      givenStack(cloud, resources, {
        Bus: 'app-bus',
        Dlq: queueUrl('app-Dlq'),
        Queue: queueUrl('app-Queue'),
        Rule: 'app-Rule',
      });
      givenQueue(cloud, 'app-Dlq');
      givenQueue(cloud, 'app-Queue');
      cloud.mocks.eventbridge.on(DescribeEventBusCommand).resolves({ Name: 'app-bus', Arn: BUS_ARN });
      // The emulator re-serialises the pattern with other key order and spacing: still the same pattern.
      cloud.mocks.eventbridge
        .on(DescribeRuleCommand, { Name: 'app-Rule', EventBusName: 'app-bus' })
        .resolves({
          Name: 'app-Rule',
          State: 'ENABLED',
          EventPattern: '{"detail-type": ["order.paid"], "source": ["shop"]}',
        });
      cloud.mocks.eventbridge.on(PutTargetsCommand).resolves({ FailedEntryCount: 0 });
    });

    it('reports a target without its DeadLetterConfig and patches it with PutTargets', async () => {
      // Prepare
      cloud.mocks.eventbridge.on(ListTargetsByRuleCommand).resolves({
        Targets: [{ Id: 'Target0', Arn: queueArn('app-Queue'), RetryPolicy: { MaximumRetryAttempts: 185 } }],
      });

      // Act
      const drifts = await check(cloud, resources);
      await drifts[0]?.patch?.apply();

      // Assess
      expect(summary(drifts)).toEqual([
        {
          logicalId: 'Rule',
          resourceType: 'AWS::Events::Rule',
          property: 'Targets[Target0]',
          expected: {
            Arn: queueArn('app-Queue'),
            DeadLetterConfig: queueArn('app-Dlq'),
            RetryPolicy: { MaximumRetryAttempts: 185 },
          },
          actual: {
            Arn: queueArn('app-Queue'),
            DeadLetterConfig: 'absent',
            RetryPolicy: { MaximumRetryAttempts: 185 },
          },
          patched: true,
        },
      ]);
      expect(cloud.mocks.eventbridge.commandCalls(PutTargetsCommand)[0]?.args[0].input).toEqual({
        Rule: 'app-Rule',
        EventBusName: 'app-bus',
        Targets: [resolvedTarget],
      });
    });

    it('reports a target the rule does not have', async () => {
      // Prepare
      cloud.mocks.eventbridge.on(ListTargetsByRuleCommand).resolves({ Targets: [] });

      // Act
      const drifts = await check(cloud, resources);

      // Assess
      expect(summary(drifts)).toEqual([
        {
          logicalId: 'Rule',
          resourceType: 'AWS::Events::Rule',
          property: 'Targets[Target0]',
          expected: {
            Arn: queueArn('app-Queue'),
            DeadLetterConfig: queueArn('app-Dlq'),
            RetryPolicy: { MaximumRetryAttempts: 185 },
          },
          actual: 'absent',
          patched: true,
        },
      ]);
    });
  });

  it('reports a setting whose read-back API fails as unreadable, without a patch', async () => {
    // Prepare
    const resources: Resources = {
      Table: {
        Type: 'AWS::DynamoDB::GlobalTable',
        Properties: {
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
          Replicas: [
            { Region: REGION, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } },
          ],
        },
      },
    };
    givenStack(cloud, resources, { Table: 'app-Table' });
    cloud.mocks.dynamodb
      .on(DescribeTableCommand)
      .resolves({ Table: { TableName: 'app-Table', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] } });
    cloud.mocks.dynamodb.on(DescribeTimeToLiveCommand).rejects(notImplemented('UnknownOperationException'));
    cloud.mocks.dynamodb.on(DescribeContinuousBackupsCommand).resolves({
      ContinuousBackupsDescription: {
        ContinuousBackupsStatus: 'ENABLED',
        PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED' },
      },
    });

    // Act
    const drifts = await check(cloud, resources);

    // Assess
    expect(summary(drifts)).toEqual([
      {
        logicalId: 'Table',
        resourceType: 'AWS::DynamoDB::GlobalTable',
        property: 'TimeToLiveSpecification',
        expected: { AttributeName: 'expiration', Enabled: true },
        actual: 'unreadable: UnknownOperationException',
        patched: false,
      },
    ]);
  });

  it('reports a dropped state machine logging configuration and patches it with UpdateStateMachine', async () => {
    // Prepare
    const definition = { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } };
    const logGroupArn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/app/flow:*`;
    const resources: Resources = {
      Logs: { Type: 'AWS::Logs::LogGroup' },
      Flow: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          DefinitionString: JSON.stringify(definition),
          LoggingConfiguration: {
            Level: 'ALL',
            IncludeExecutionData: false,
            Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['Logs', 'Arn'] } } }],
          },
        },
      },
    };
    const flowArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:app-Flow`;
    givenStack(cloud, resources, { Logs: '/app/flow', Flow: flowArn });
    cloud.mocks.sfn.on(DescribeStateMachineCommand).resolves({
      stateMachineArn: flowArn,
      definition: JSON.stringify(definition, null, 1),
      loggingConfiguration: {},
    });
    const expectedLogging = {
      level: 'ALL',
      includeExecutionData: false,
      destinations: [{ cloudWatchLogsLogGroup: { logGroupArn } }],
    };

    // Act
    const drifts = await check(cloud, resources);
    await drifts[0]?.patch?.apply();

    // Assess
    expect(summary(drifts)).toEqual([
      {
        logicalId: 'Flow',
        resourceType: 'AWS::StepFunctions::StateMachine',
        property: 'LoggingConfiguration',
        expected: expectedLogging,
        actual: { level: 'OFF', includeExecutionData: false, destinations: [] },
        patched: true,
      },
    ]);
    expect(cloud.mocks.sfn.commandCalls(UpdateStateMachineCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: flowArn,
      loggingConfiguration: expectedLogging,
    });
  });

  it('reports a dropped stage access log setting and patches it with UpdateStage', async () => {
    // Prepare
    const resources: Resources = {
      AccessLogs: { Type: 'AWS::Logs::LogGroup' },
      Stage: {
        Type: 'AWS::ApiGateway::Stage',
        Properties: {
          RestApiId: 'api1',
          StageName: 'v1',
          TracingEnabled: true,
          MethodSettings: [
            { HttpMethod: '*', ResourcePath: '/*', ThrottlingBurstLimit: 5000, ThrottlingRateLimit: 10000 },
          ],
          AccessLogSetting: {
            DestinationArn: { 'Fn::GetAtt': ['AccessLogs', 'Arn'] },
            Format: '$context.requestId',
          },
        },
      },
    };
    givenStack(cloud, resources, { AccessLogs: '/app/access', Stage: 'v1' });
    cloud.mocks.apigateway.on(GetStageCommand, { restApiId: 'api1', stageName: 'v1' }).resolves({
      stageName: 'v1',
      tracingEnabled: true,
      methodSettings: { '*/*': { throttlingBurstLimit: 5000, throttlingRateLimit: 10000 } },
      accessLogSettings: {},
    });
    const destinationArn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/app/access:*`;

    // Act
    const drifts = await check(cloud, resources);
    await drifts[0]?.patch?.apply();

    // Assess
    expect(summary(drifts)).toEqual([
      {
        logicalId: 'Stage',
        resourceType: 'AWS::ApiGateway::Stage',
        property: 'AccessLogSetting',
        expected: { DestinationArn: destinationArn, Format: '$context.requestId' },
        actual: { DestinationArn: 'absent', Format: 'absent' },
        patched: true,
      },
    ]);
    expect(cloud.mocks.apigateway.commandCalls(UpdateStageCommand)[0]?.args[0].input).toEqual({
      restApiId: 'api1',
      stageName: 'v1',
      patchOperations: [
        { op: 'replace', path: '/accessLogSettings/destinationArn', value: destinationArn },
        { op: 'replace', path: '/accessLogSettings/format', value: '$context.requestId' },
      ],
    });
  });

  it('reports a topic without its KMS key and patches it with SetTopicAttributes', async () => {
    // Prepare
    const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:app-Topic`;
    const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/key-1`;
    const resources: Resources = {
      Key: { Type: 'AWS::KMS::Key' },
      Topic: { Type: 'AWS::SNS::Topic', Properties: { KmsMasterKeyId: { 'Fn::GetAtt': ['Key', 'Arn'] } } },
    };
    givenStack(cloud, resources, { Key: 'key-1', Topic: topicArn });
    cloud.mocks.sns
      .on(GetTopicAttributesCommand, { TopicArn: topicArn })
      .resolves({ Attributes: { TopicArn: topicArn } });

    // Act
    const drifts = await check(cloud, resources);
    await drifts[0]?.patch?.apply();

    // Assess
    expect(summary(drifts)).toEqual([
      {
        logicalId: 'Topic',
        resourceType: 'AWS::SNS::Topic',
        property: 'KmsMasterKeyId',
        expected: keyArn,
        actual: 'absent',
        patched: true,
      },
    ]);
    expect(cloud.mocks.sns.commandCalls(SetTopicAttributesCommand)[0]?.args[0].input).toEqual({
      TopicArn: topicArn,
      AttributeName: 'KmsMasterKeyId',
      AttributeValue: keyArn,
    });
  });

  it('reports a template resource the stack does not have', async () => {
    // Prepare
    const resources: Resources = {
      Archive: { Type: 'AWS::Events::Archive', Properties: { SourceArn: BUS_ARN } },
      Metadata: { Type: 'AWS::CDK::Metadata' },
    };
    givenStack(cloud, resources, {});

    // Act
    const drifts = await check(cloud, resources);

    // Assess
    expect(summary(drifts)).toEqual([
      {
        logicalId: 'Archive',
        resourceType: 'AWS::Events::Archive',
        property: 'PhysicalResourceId',
        expected: 'present',
        actual: 'absent',
        patched: false,
      },
    ]);
  });
});

describe('StackResolver', () => {
  let cloud: Cloud;
  const resources: Resources = {
    Queue: { Type: 'AWS::SQS::Queue' },
    Secret: { Type: 'AWS::SecretsManager::Secret' },
    Role: { Type: 'AWS::IAM::Role' },
  };
  const load = () =>
    StackResolver.load(STACK, cloud.clients, {
      Parameters: {
        Stage: { Type: 'String', Default: 'dev' },
        Version: { Type: 'AWS::SSM::Parameter::Value<String>' },
      },
      Resources: resources,
    });

  beforeEach(() => {
    cloud = mockCloud();
    givenStack(
      cloud,
      resources,
      { Queue: queueUrl('app-Queue'), Secret: 'app-Secret-ABC', Role: 'app-Role' },
      [{ ParameterKey: 'Version', ParameterValue: '/cdk-bootstrap/version', ResolvedValue: '30' }],
    );
    givenQueue(cloud, 'app-Queue');
  });

  it('resolves Ref to physical ids, parameters and pseudo parameters', async () => {
    // Prepare
    const resolver = await load();

    // Act
    const resolved = await resolver.resolve({
      queue: { Ref: 'Queue' },
      stage: { Ref: 'Stage' },
      version: { Ref: 'Version' },
      pseudo: ['AWS::Region', 'AWS::AccountId', 'AWS::Partition', 'AWS::URLSuffix', 'AWS::StackName'].map(
        (name) => ({
          Ref: name,
        }),
      ),
    });

    // Assess
    expect(resolved).toEqual({
      queue: queueUrl('app-Queue'),
      stage: 'dev',
      version: '30',
      pseudo: [REGION, ACCOUNT, 'aws', 'amazonaws.com', STACK],
    });
  });

  it('resolves Ref of a secret to the physical id the emulator reports, not to an ARN', async () => {
    // Prepare
    const resolver = await load();

    // Act
    const resolved = await resolver.resolve({ Ref: 'Secret' });

    // Assess
    expect(resolved).toBe('app-Secret-ABC');
  });

  it('resolves Fn::GetAtt from the service API once and caches it', async () => {
    // Prepare
    const resolver = await load();

    // Act
    const arns = await resolver.resolve([
      { 'Fn::GetAtt': ['Queue', 'Arn'] },
      { 'Fn::GetAtt': 'Queue.Arn' },
      { 'Fn::GetAtt': ['Queue', 'QueueName'] },
      { 'Fn::GetAtt': ['Role', 'Arn'] },
    ]);

    // Assess
    expect(arns).toEqual([
      queueArn('app-Queue'),
      queueArn('app-Queue'),
      'app-Queue',
      `arn:aws:iam::${ACCOUNT}:role/app-Role`,
    ]);
    expect(cloud.mocks.sqs.commandCalls(GetQueueAttributesCommand)).toHaveLength(1);
  });

  it('resolves Fn::Join, Fn::Select and Fn::Split', async () => {
    // Prepare
    const resolver = await load();

    // Act
    const resolved = await resolver.resolve({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':sqs:',
          { 'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Queue', 'Arn'] }] }] },
          '/',
          { Ref: 'Queue' },
        ],
      ],
    });

    // Assess
    expect(resolved).toBe(`arn:aws:sqs:aws/${queueUrl('app-Queue')}`);
  });

  it('resolves Fn::Sub in its string and its variable-map form', async () => {
    // Prepare
    const resolver = await load();

    // Act
    const resolved = await resolver.resolve([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax, not a JavaScript template
      { 'Fn::Sub': 'cdk-${AWS::AccountId}-${AWS::Region} ${Queue.Arn} ${Secret} ${!Literal}' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax, not a JavaScript template
      { 'Fn::Sub': ['${Name}@${Stage}', { Name: { 'Fn::GetAtt': ['Queue', 'QueueName'] } }] },
    ]);

    // Assess
    expect(resolved).toEqual([
      `cdk-${ACCOUNT}-${REGION} ${queueArn('app-Queue')} app-Secret-ABC \${Literal}`,
      'app-Queue@dev',
    ]);
  });

  it('rejects a reference to a resource the stack does not have', async () => {
    // Prepare
    const resolver = await load();

    // Act
    const resolving = resolver.resolve({ 'Fn::Join': ['', [{ Ref: 'Nowhere' }]] });

    // Assess
    await expect(resolving).rejects.toThrow(IntrinsicError);
  });
});
