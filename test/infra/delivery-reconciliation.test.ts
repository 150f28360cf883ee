import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { STAGES } from '../../bin/stages.js';
import { Alarms } from '../../lib/alarms.js';
import type { GitHubReconciliationSettings, HubSettings } from '../../lib/config.js';
import { DeliveryReconciliation } from '../../lib/delivery-reconciliation.js';
import { SwitchyardStack } from '../../lib/switchyard-stack.js';

type Resource = { Type: string; Properties?: Record<string, unknown> };

const GITHUB: GitHubReconciliationSettings = {
  source: 'github',
  owner: 'octo-org',
  repo: 'switchyard-demo',
  hookId: 4242,
};

function production(): HubSettings {
  const settings = STAGES.production;
  if (!settings) throw new Error('no production stage');
  return settings;
}

/** The construct alone in a stack, with the on-call alarms it joins. */
function reconciliation(github: GitHubReconciliationSettings, app = new App()) {
  const stack = new Stack(app, 'Reconciled', { env: { region: 'eu-west-1' } });
  const alarms = new Alarms(stack, 'Alarms');
  const construct = new DeliveryReconciliation(stack, 'ReconcileGithub', {
    github,
    sources: production().sources,
    alarms,
  });
  return { app, stack, construct };
}

let template: Template;
let resources: Record<string, Resource>;
const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const idOf = (prefix: string, type: string) => ofType(type).find(([id]) => id.startsWith(prefix))?.[0] ?? '';

beforeAll(() => {
  const stack = new SwitchyardStack(new App(), 'Switchyard', {
    settings: { ...production(), reconcile: { github: GITHUB } },
    env: { region: 'eu-west-1' },
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
});

describe('DeliveryReconciliation in the stack', () => {
  it('is only composed when reconcile.github is configured', () => {
    // Act
    const plain = Template.fromStack(
      new SwitchyardStack(new App(), 'Plain', { settings: production(), env: { region: 'eu-west-1' } }),
    );

    // Assess
    expect(
      Object.keys(
        plain.findResources('AWS::Events::Rule', { Properties: { ScheduleExpression: Match.anyValue() } }),
      ),
    ).toEqual([]);
    expect(Object.keys(plain.toJSON().Outputs as object)).not.toContain('ReconcileTokenGithub');
  });

  it('runs the function every 10 minutes, through a target with a dead-letter queue and an explicit retry policy', () => {
    // Prepare
    const fn = idOf('ReconcileGithubFunction', 'AWS::Lambda::Function');
    const deadLetters = idOf('ReconcileGithubDeadLetterQueue', 'AWS::SQS::Queue');

    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(10 minutes)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [fn, 'Arn'] },
          Id: Match.anyValue(),
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLetters, 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 3 },
        },
      ],
    });
    expect(resources[deadLetters]?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
  });

  it('does not let Lambda retry a failed run: the next scheduled run is the retry', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: idOf('ReconcileGithubFunction', 'AWS::Lambda::Function') },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 600,
    });
  });

  it('alarms on missing events, failed runs and the schedule dead letters, to on-call with a runbook link', () => {
    // Prepare
    const topic = idOf('AlarmsOnCallTopic', 'AWS::SNS::Topic');
    const fn = idOf('ReconcileGithubFunction', 'AWS::Lambda::Function');
    const deadLetters = idOf('ReconcileGithubDeadLetterQueue', 'AWS::SQS::Queue');
    const common = { Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1 };
    const pages = { AlarmActions: [{ Ref: topic }], OKActions: [{ Ref: topic }] };
    // The job's failures page once, through the job's composite
    const job = ofType('AWS::CloudWatch::CompositeAlarm').find(([id]) =>
      id.startsWith('AlarmsGithubReconcileComponent'),
    );
    expect(job?.[1].Properties).toMatchObject({
      ...pages,
      AlarmDescription: expect.stringMatching(/Runbook: docs\/runbooks\/github-reconcile-failing\.md$/),
    });
    const children = JSON.stringify(job?.[1].Properties?.AlarmRule);

    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...common,
      ...pages,
      Namespace: 'Switchyard',
      MetricName: 'ReconcileMissing',
      Dimensions: [{ Name: 'service', Value: 'reconcile-github' }],
      Statistic: 'Sum',
      Period: 600,
      AlarmDescription: Match.stringLikeRegexp('Runbook: docs/runbooks/github-deliveries-missing\\.md$'),
    });
    const failedRuns = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: {
        ...common,
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        Statistic: 'Sum',
        Period: 600,
        AlarmDescription: Match.stringLikeRegexp('Runbook: docs/runbooks/github-reconcile-failing\\.md$'),
      },
    });
    const skippedRuns = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: {
        ...common,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetters, 'QueueName'] } }],
        AlarmDescription: Match.stringLikeRegexp('Runbook: docs/runbooks/github-reconcile-failing\\.md$'),
      },
    });
    for (const alarms of [failedRuns, skippedRuns]) {
      const [id, alarm] = Object.entries(alarms)[0] ?? [];
      expect(id).toBeDefined();
      expect(alarm?.Properties?.AlarmActions).toBeUndefined();
      expect(children).toContain(`"Fn::GetAtt":["${id}","Arn"]`);
    }
  });

  it('lets the function read its token secret and nothing else', () => {
    // Prepare
    const role = idOf('ReconcileGithubFunctionServiceRole', 'AWS::IAM::Role');
    const secret = idOf('ReconcileGithubTokenSecret', 'AWS::SecretsManager::Secret');
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, policy]) => JSON.stringify(policy.Properties?.Roles).includes(role))
      .flatMap(
        ([, policy]) =>
          (policy.Properties?.PolicyDocument as { Statement?: unknown[] } | undefined)?.Statement ?? [],
      );

    // Assess
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        Resource: '*',
      },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: secret },
      },
    ]);
  });

  it('creates the token secret with a placeholder, gives the function its ARN only, and outputs it', () => {
    // Prepare
    const secret = idOf('ReconcileGithubTokenSecret', 'AWS::SecretsManager::Secret');
    const fn = resources[idOf('ReconcileGithubFunction', 'AWS::Lambda::Function')];
    const variables =
      (fn?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};

    // Assess
    expect(resources[secret]?.Properties?.GenerateSecretString).toEqual({
      SecretStringTemplate: '{"status":"unset"}',
      GenerateStringKey: 'placeholder',
    });
    expect(variables.TOKEN_SECRET_ARN).toEqual({ Ref: secret });
    expect(JSON.parse(String(variables.RECONCILE_SETTINGS))).toEqual({
      source: 'github',
      hook: {
        owner: 'octo-org',
        repo: 'switchyard-demo',
        hookId: 4242,
        apiBaseUrl: 'https://api.github.com',
      },
      lookBackMinutes: 120,
      maxRedeliveriesPerRun: 50,
      maxAttemptsPerEvent: 6,
    });
    expect(template.toJSON().Outputs.ReconcileTokenGithub).toMatchObject({ Value: { Ref: secret } });
  });
});

describe('DeliveryReconciliation', () => {
  it('uses an existing token secret when its ARN is given, and grants reading that one only', () => {
    // Prepare
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:github-token-AbCdEf';

    // Act
    const { stack } = reconciliation({
      ...GITHUB,
      tokenSecretArn: arn,
      everyMinutes: 15,
      lookBackMinutes: 60,
    });
    const built = Template.fromStack(stack);

    // Assess
    built.resourceCountIs('AWS::SecretsManager::Secret', 0);
    built.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: arn,
          },
        ]),
      },
    });
    built.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
  });

  it('raises no cdk-nag AwsSolutions finding', () => {
    // Prepare
    const app = new App();
    reconciliation(GITHUB, app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    const synth = () => app.synth();

    // Assess
    expect(synth).not.toThrow();
  });

  it.each([
    ['an unknown source', { source: 'gitlab' }, /source "gitlab" is not one of the hub's sources/],
    ['a source of another scheme', { source: 'stripe' }, /does not use the github scheme/],
    ['a look-back shorter than two runs', { everyMinutes: 30, lookBackMinutes: 45 }, /lookBackMinutes 45/],
    ['a look-back beyond what GitHub keeps', { lookBackMinutes: 5000 }, /lookBackMinutes 5000/],
    ['a schedule under 5 minutes', { everyMinutes: 1 }, /everyMinutes 1 /],
    ['plain http to another host', { apiBaseUrl: 'http://github.example.com' }, /loopback/],
    ['a hook id that is not a positive integer', { hookId: 0 }, /hook\.hookId/],
    ['an owner GitHub would not accept', { owner: '-octo' }, /hook\.owner/],
    ['a cap of no redelivery', { maxRedeliveriesPerRun: 0 }, /maxRedeliveriesPerRun/],
  ] as const)('refuses %s at synthesis', (_, change, message) => {
    // Act
    const build = () => reconciliation({ ...GITHUB, ...change });

    // Assess
    expect(build).toThrow(message);
  });
});
