import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STAGES } from '../../bin/stages.js';
import type { HubSettings } from '../../lib/config.js';
import { SwitchyardStack } from '../../lib/switchyard-stack.js';

type Resource = { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string };

let template: Template;
let resources: Record<string, Resource>;

function production(): HubSettings {
  const settings = STAGES.production;
  if (!settings) throw new Error('no production stage');
  return settings;
}

function synthesize(settings: HubSettings): Template {
  const stack = new SwitchyardStack(new App(), 'Switchyard', { settings, env: { region: 'eu-west-1' } });
  return Template.fromStack(stack);
}

beforeAll(() => {
  template = synthesize(production());
  resources = template.toJSON().Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const refId = (value: unknown): string | undefined => {
  const ref = value as { 'Fn::GetAtt'?: [string, string]; Ref?: string };
  return ref?.['Fn::GetAtt']?.[0] ?? ref?.Ref;
};

/**
 * Logical ids of queues where failed work ends: dead-letter queues (of a queue or of a rule target) and the
 * parking queues a flow sends failed sagas to.
 */
function deadLetterQueueIds(): Set<string> {
  const ids = new Set<string>();
  for (const [, queue] of ofType('AWS::SQS::Queue')) {
    const id = refId(
      (queue.Properties?.RedrivePolicy as { deadLetterTargetArn?: unknown })?.deadLetterTargetArn,
    );
    if (id) ids.add(id);
  }
  for (const [, rule] of ofType('AWS::Events::Rule')) {
    for (const target of (rule.Properties?.Targets as { DeadLetterConfig?: { Arn?: unknown } }[]) ?? []) {
      const id = refId(target.DeadLetterConfig?.Arn);
      if (id) ids.add(id);
    }
  }
  for (const [, machine] of ofType('AWS::StepFunctions::StateMachine')) {
    for (const part of definitionParts(machine)) {
      const id = refId(part);
      if (id && resources[id]?.Type === 'AWS::SQS::Queue') ids.add(id);
    }
  }
  return ids;
}

/** The pieces of a state machine's definition: strings, and the tokens (`Ref`, `Fn::GetAtt`) between them. */
function definitionParts(machine: Resource): unknown[] {
  const definition = machine.Properties?.DefinitionString as { 'Fn::Join'?: [string, unknown[]] } | undefined;
  return definition?.['Fn::Join']?.[1] ?? [];
}

describe('SwitchyardStack', () => {
  it('gives every queue that is not itself a dead-letter queue a redrive policy with at least 5 receives', () => {
    const deadLetterQueues = deadLetterQueueIds();
    const workQueues = ofType('AWS::SQS::Queue').filter(([id]) => !deadLetterQueues.has(id));
    expect(workQueues.length).toBeGreaterThanOrEqual(3);
    for (const [id, queue] of workQueues) {
      const policy = queue.Properties?.RedrivePolicy as { maxReceiveCount?: number } | undefined;
      expect(policy?.maxReceiveCount, id).toBeGreaterThanOrEqual(5);
    }
  });

  it('encrypts every queue and keeps dead letters 14 days', () => {
    const deadLetterQueues = deadLetterQueueIds();
    for (const [id, queue] of ofType('AWS::SQS::Queue')) {
      expect(queue.Properties?.SqsManagedSseEnabled, id).toBe(true);
      if (deadLetterQueues.has(id)) expect(queue.Properties?.MessageRetentionPeriod, id).toBe(1_209_600);
    }
  });

  it('reports batch item failures on every event source mapping', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBe(3);
    for (const [id, mapping] of mappings) {
      expect(mapping.Properties?.FunctionResponseTypes, id).toEqual(['ReportBatchItemFailures']);
    }
  });

  it('sets every consumed queue visibility timeout to at least 6 times its consumer timeout', () => {
    for (const [id, mapping] of ofType('AWS::Lambda::EventSourceMapping')) {
      const queue = resources[refId(mapping.Properties?.EventSourceArn) ?? ''];
      const fn = resources[refId(mapping.Properties?.FunctionName) ?? ''];
      expect(Number(queue?.Properties?.VisibilityTimeout), id).toBeGreaterThanOrEqual(
        6 * Number(fn?.Properties?.Timeout),
      );
    }
  });

  it('alarms on every dead-letter queue, on ALARM and on OK, to the on-call topic, with a runbook link', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm');
    const topic = ofType('AWS::SNS::Topic')[0]?.[0];
    for (const queueId of deadLetterQueueIds()) {
      const alarm = alarms.find(([, candidate]) =>
        (candidate.Properties?.Dimensions as { Name: string; Value: unknown }[] | undefined)?.some(
          (dimension) =>
            dimension.Name === 'QueueName' &&
            (dimension.Value as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt']?.[0] === queueId,
        ),
      );
      expect(alarm, `alarm on ${queueId}`).toBeDefined();
      expect(alarm?.[1].Properties).toMatchObject({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: topic }],
        OKActions: [{ Ref: topic }],
        AlarmDescription: expect.stringMatching(/Runbook: .+\.md$/),
      });
    }
  });

  it("alarms when the order-paid flow fails, times out or is aborted, paging through the flow's composite", () => {
    const topic = ofType('AWS::SNS::Topic')[0]?.[0];
    const [, composite] =
      ofType('AWS::CloudWatch::CompositeAlarm').find(([id]) =>
        id.startsWith('AlarmsOrderPaidFlowComponent'),
      ) ?? [];
    expect(composite?.Properties).toMatchObject({
      AlarmActions: [{ Ref: topic }],
      OKActions: [{ Ref: topic }],
    });
    for (const metricName of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      const alarms = template.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          Namespace: 'AWS/States',
          MetricName: metricName,
          Dimensions: [{ Name: 'StateMachineArn', Value: Match.anyValue() }],
          Threshold: 0,
          AlarmDescription: Match.stringLikeRegexp('flow-failed\\.md$'),
        },
      });
      const [id] = Object.keys(alarms);
      expect(id, metricName).toBeDefined();
      expect(JSON.stringify(composite?.Properties?.AlarmRule)).toContain(`"Fn::GetAtt":["${id}","Arn"]`);
    }
  });

  it('links every alarm to a runbook that exists, and every runbook to an alarm', () => {
    const runbooksDir = join(import.meta.dirname, '..', '..', 'docs', 'runbooks');
    const linked = new Set<string>();
    // Alarms of optional parts count too: production with the GitHub delivery reconciliation configured.
    const withOptional = synthesize({
      ...production(),
      reconcile: { github: { source: 'github', owner: 'octo-org', repo: 'switchyard-demo', hookId: 1 } },
    });
    const alarms = [
      ...ofType('AWS::CloudWatch::Alarm'),
      ...ofType('AWS::CloudWatch::CompositeAlarm'),
      ...(Object.entries(withOptional.findResources('AWS::CloudWatch::Alarm')) as [string, Resource][]),
      ...(Object.entries(withOptional.findResources('AWS::CloudWatch::CompositeAlarm')) as [
        string,
        Resource,
      ][]),
    ];
    for (const [id, alarm] of alarms) {
      const runbook = /Runbook: docs\/runbooks\/([a-z-]+\.md)$/.exec(
        String(alarm.Properties?.AlarmDescription),
      )?.[1];
      expect(runbook, `${id} has no runbook link`).toBeDefined();
      expect(existsSync(join(runbooksDir, runbook ?? '')), `${id}: docs/runbooks/${runbook} is missing`).toBe(
        true,
      );
      linked.add(runbook ?? '');
    }
    expect(readdirSync(runbooksDir).sort()).toEqual([...linked].sort());
  });

  it('gives every rule target a dead-letter queue and an explicit retry policy', () => {
    const rules = ofType('AWS::Events::Rule');
    expect(rules.length).toBe(3);
    for (const [id, rule] of rules) {
      for (const target of (rule.Properties?.Targets ?? []) as Record<string, unknown>[]) {
        expect(target.DeadLetterConfig, id).toBeDefined();
        expect(target.RetryPolicy, id).toEqual({
          MaximumEventAgeInSeconds: 86_400,
          MaximumRetryAttempts: 185,
        });
      }
    }
  });

  it('routes order.paid to the flow, contact events to the email-sync queue and github.* to the audit queue', () => {
    const patterns = ofType('AWS::Events::Rule').map(([, rule]) => rule.Properties?.EventPattern);
    expect(patterns).toContainEqual({ 'detail-type': ['order.paid'] });
    expect(patterns).toContainEqual({
      'detail-type': ['contact.created', 'contact.updated', 'contact.deleted'],
    });
    expect(patterns).toContainEqual({ 'detail-type': [{ prefix: 'github.' }] });
  });

  it('archives every event of the bus for replay', () => {
    template.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 30 });
  });

  it('sets no physical names, so stacks can live side by side', () => {
    const nameProperties = [
      'QueueName',
      'FunctionName',
      'TableName',
      'TopicName',
      'StateMachineName',
      'RoleName',
      'BucketName',
    ];
    for (const [id, resource] of Object.entries(resources)) {
      for (const property of nameProperties) {
        expect(typeof resource.Properties?.[property], `${id}.${property} is a literal name`).not.toBe(
          'string',
        );
      }
    }
  });

  it('grants no wildcard resource except for actions that support no resource-level permissions', () => {
    const resourceLess =
      /^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))$/;
    for (const [id, policy] of ofType('AWS::IAM::Policy')) {
      const document = (policy.Properties?.PolicyDocument ?? {}) as { Statement?: Record<string, unknown>[] };
      const statements = document.Statement ?? [];
      for (const statement of statements) {
        const actions = [statement.Action].flat() as string[];
        for (const action of actions)
          expect(action, `${id} grants a whole service`).not.toMatch(/^(\*|[a-z0-9-]+:\*)$/);
        if (statement.Resource === '*') {
          for (const action of actions) expect(action, id).toMatch(resourceLess);
        }
      }
    }
  });

  it('gives the ingest function only the ARNs of the signing secrets, never a secret value', () => {
    const ingest = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('IngressIngest'));
    const environment = (ingest?.[1].Properties?.Environment ?? {}) as {
      Variables?: Record<string, unknown>;
    };
    const variables = environment.Variables ?? {};
    const sources = JSON.stringify(variables.SOURCES);
    expect(sources).toContain('secretArn');
    expect(sources).not.toMatch(/whsec_|placeholder|"current"/);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { SecretStringTemplate: '{"status":"unset"}', GenerateStringKey: 'placeholder' },
    });
  });

  it('runs every function on Node.js 22, arm64, traced, with the AWS SDK bundled', () => {
    for (const [id, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties, id).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
      });
    }
  });

  it('keeps the idempotency table with TTL, point-in-time recovery and a stable logical id', () => {
    const tables = ofType('AWS::DynamoDB::GlobalTable').filter(([id]) => id.startsWith('Idempotency'));
    expect(tables.map(([id]) => id)).toEqual(['IdempotencyTable48612DF4']);
    expect(tables[0]?.[1]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
        Replicas: [
          { Region: 'eu-west-1', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } },
        ],
      },
    });
  });

  it('serves POST /webhooks/{source} from a regional REST API that passes every body through as bytes', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      BinaryMediaTypes: ['*/*'],
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{source}' });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      Integration: Match.objectLike({ Type: 'AWS_PROXY' }),
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 }),
      ]),
    });
  });

  it('runs the order-paid flow as a logged, traced Standard state machine that retries transient errors with jitter', () => {
    const [, machine] = ofType('AWS::StepFunctions::StateMachine')[0] ?? [];
    expect(machine?.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
    const definition = JSON.stringify(machine?.Properties?.DefinitionString);
    for (const state of ['CreateInvoice', 'UpdateCustomer', 'SendReceipt', 'VoidInvoice', 'EmitFlowFailed']) {
      expect(definition).toContain(`\\"${state}\\"`);
    }
    expect(definition).toContain(
      '\\"ErrorEquals\\":[\\"TransientUpstreamError\\",\\"IdempotencyAlreadyInProgressError\\"]',
    );
    expect(definition).toContain('\\"JitterStrategy\\":\\"FULL\\"');
    expect(definition).toContain('\\"MaxDelaySeconds\\":60');
  });

  it('parks the saga of a failed compensation in a watched queue before the order-paid flow fails', () => {
    // Prepare: the definition with its tokens (ARNs) replaced by a placeholder
    const [, machine] = ofType('AWS::StepFunctions::StateMachine')[0] ?? [];
    const text = definitionParts(machine ?? { Type: '' })
      .map((part) => (typeof part === 'string' ? part : 'TOKEN'))
      .join('');
    const definition = JSON.parse(text) as {
      States: Record<string, { Resource?: string; Next?: string; Catch?: { Next: string }[] }>;
    };
    const [parkingQueueId] = ofType('AWS::SQS::Queue').find(([id]) => id.includes('ParkingQueue')) ?? [];

    // Assess
    expect(definition.States.VoidInvoice?.Catch?.map((handler) => handler.Next)).toEqual(['ParkSaga']);
    expect(definition.States.ParkSaga).toMatchObject({
      Resource: expect.stringContaining(':states:::sqs:sendMessage'),
      Next: 'EmitFlowFailed',
      Catch: [{ Next: 'EmitFlowFailed' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [parkingQueueId, 'QueueName'] } }],
      Threshold: 0,
      AlarmActions: [Match.anyValue()],
      OKActions: [Match.anyValue()],
      AlarmDescription: Match.stringLikeRegexp('saga-parked\\.md$'),
    });
  });

  it('outputs the webhook base URL, the on-call topic and each source signing secret', () => {
    const outputs = Object.keys(template.toJSON().Outputs as object);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'WebhookBaseUrl',
        'OnCallTopicArn',
        'SigningSecretStripe',
        'SigningSecretShopify',
        'SigningSecretGithub',
        'SigningSecretCrm',
      ]),
    );
  });

  it('keeps claim-checked bodies in an encrypted, private, TLS-only bucket that expires them after 30 days', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, Status: 'Enabled' })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets the ingest function only put claim-checked bodies, and the router only read them', () => {
    const bucketId = ofType('AWS::S3::Bucket')[0]?.[0] ?? '';
    const s3ActionsOf = (rolePrefix: string) =>
      ofType('AWS::IAM::Policy')
        .filter(([id]) => id.startsWith(rolePrefix))
        .flatMap(
          ([, policy]) =>
            ((policy.Properties?.PolicyDocument ?? {}) as { Statement?: Record<string, unknown>[] })
              .Statement ?? [],
        )
        .filter((statement) => JSON.stringify(statement.Resource).includes(bucketId))
        .flatMap((statement) => [statement.Action].flat());
    expect(s3ActionsOf('IngressIngest')).toEqual(expect.arrayContaining(['s3:PutObject']));
    expect(s3ActionsOf('IngressIngest').some((action) => String(action).startsWith('s3:Get'))).toBe(false);
    expect(s3ActionsOf('InboxWorker').some((action) => String(action).startsWith('s3:GetObject'))).toBe(true);
    expect(s3ActionsOf('InboxWorker').some((action) => String(action).startsWith('s3:Put'))).toBe(false);
  });

  it('tells the router the mapper of each routed source', () => {
    const router = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('InboxWorker'));
    const environment = (router?.[1].Properties?.Environment ?? {}) as {
      Variables?: Record<string, unknown>;
    };
    expect(JSON.parse(String(environment.Variables?.MAPPERS))).toEqual({
      stripe: 'stripe',
      shopify: 'shopify',
      github: 'github',
      crm: 'crm',
    });
  });

  it('validates the path at the gateway and throttles the webhook route', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestParameters: true });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestParameters: { 'method.request.path.source': true },
      RequestValidatorId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          ResourcePath: '/~1webhooks~1{source}',
          HttpMethod: 'POST',
          ThrottlingRateLimit: 500,
        }),
      ]),
    });
  });

  it('puts no web ACL in front of the API unless asked', () => {
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });

  it('attaches a web ACL with a per-IP rate limit and the core rule set, whose body-size rule only counts', () => {
    // Act
    const protectedHub = synthesize({ ...production(), waf: { requestsPerIpPer5Minutes: 1200 } });

    // Assess
    protectedHub.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([
        Match.objectLike({
          Name: 'RatePerIp',
          Action: { Block: {} },
          Statement: { RateBasedStatement: { Limit: 1200, AggregateKeyType: 'IP' } },
        }),
        Match.objectLike({
          Statement: {
            ManagedRuleGroupStatement: {
              VendorName: 'AWS',
              Name: 'AWSManagedRulesCommonRuleSet',
              RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
            },
          },
        }),
      ]),
    });
    protectedHub.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
  });

  it('refuses at synthesis a source whose body limit API Gateway cannot pass to Lambda, or a bad name', () => {
    const base = production();
    expect(() =>
      synthesize({ ...base, sources: [{ name: 'big', scheme: 'github', maxBodyBytes: 5_000_000 }] }),
    ).toThrow(/maxBodyBytes 5000000 exceeds 4653056/);
    expect(() => synthesize({ ...base, sources: [{ name: 'Bad_Name', scheme: 'github' }] })).toThrow(
      /source name/,
    );
  });

  it('starts the order-paid flow through a starter that may only start that state machine', () => {
    const machine = ofType('AWS::StepFunctions::StateMachine')[0]?.[0] ?? '';
    const starterStatements = ofType('AWS::IAM::Policy')
      .filter(([id]) => id.startsWith('OrderPaidFlowStarterWorker'))
      .flatMap(
        ([, policy]) =>
          ((policy.Properties?.PolicyDocument ?? {}) as { Statement?: Record<string, unknown>[] })
            .Statement ?? [],
      );
    expect(starterStatements).toContainEqual(
      expect.objectContaining({ Action: 'states:StartExecution', Resource: { Ref: machine } }),
    );
    const route = ofType('AWS::Events::Rule').find(([, rule]) =>
      JSON.stringify(rule.Properties?.EventPattern).includes('order.paid'),
    );
    const target = (route?.[1].Properties?.Targets as { Arn: unknown }[] | undefined)?.[0];
    expect(JSON.stringify(target?.Arn)).toContain('OrderPaidFlowStarterQueue');
  });

  it('keeps contact versions in a retained table the email-sync consumer may only put to', () => {
    const versions = ofType('AWS::DynamoDB::GlobalTable').find(([id]) => id.startsWith('EntityVersions'));
    expect(versions?.[1]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] },
    });
    const statements = ofType('AWS::IAM::Policy')
      .filter(([id]) => id.startsWith('EmailSyncWorker'))
      .flatMap(
        ([, policy]) =>
          ((policy.Properties?.PolicyDocument ?? {}) as { Statement?: Record<string, unknown>[] })
            .Statement ?? [],
      )
      .filter((statement) => JSON.stringify(statement.Resource).includes(versions?.[0] ?? '-'));
    expect(statements.map((statement) => statement.Action)).toEqual(['dynamodb:PutItem']);
  });
});
