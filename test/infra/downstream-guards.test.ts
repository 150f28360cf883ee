import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { DownstreamGuards, type WatchMetric } from '../../lib/downstream-guards.js';

/** A function with no bundling, so the test synthesizes in a second. */
function tinyFunction(stack: Stack, id: string): lambda.Function {
  const fn = new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('export const handler = async () => undefined;'),
  });
  Validations.of(fn).acknowledge(
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'Test function: the basic execution policy only lets it write its logs.',
    },
    { id: 'AwsSolutions-L1', reason: 'Test function: the runtime the design fixes.' },
  );
  return fn;
}

/** Like `Alarms` does for every alarm: above 0 in one period, missing data not breaching. */
const watch: WatchMetric = (id, metric, what, runbook) =>
  new cloudwatch.Alarm(new Stack(), id, {
    metric,
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    alarmDescription: `${what} Runbook: docs/runbooks/${runbook}.md`,
  });

function guardedStack() {
  const app = new App();
  const stack = new Stack(app, 'Guarded', { env: { region: 'eu-west-1' } });
  const guards = new DownstreamGuards(stack, 'Guards');
  const invoice = tinyFunction(stack, 'CreateInvoice');
  const voidInvoice = tinyFunction(stack, 'VoidInvoice');
  const settings = { rate: { vendorLimitPerSecond: 25 } };
  guards.grantTo(invoice, 'accounting', settings);
  guards.grantTo(voidInvoice, 'accounting', settings);
  return { app, stack, guards };
}

describe('DownstreamGuards', () => {
  it('keeps the state in an on-demand, encrypted table with PITR, keyed by pk, destroyed with the stack', () => {
    // Prepare
    const { stack } = guardedStack();

    // Act
    const template = Template.fromStack(stack);

    // Assess
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        Replicas: [
          Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
        ],
      }),
    });
  });

  it('gives each function the table name and the settings of its system', () => {
    // Prepare
    const { stack } = guardedStack();

    // Act
    const template = Template.fromStack(stack);

    // Assess
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      const variables = fn.Properties.Environment.Variables;
      expect(variables.GUARD_TABLE_NAME).toEqual({ Ref: expect.stringMatching(/^GuardsTable/) });
      expect(JSON.parse(variables.DOWNSTREAM_GUARD)).toEqual({
        system: 'accounting',
        rate: { vendorLimitPerSecond: 25 },
      });
    }
  });

  it('grants GetItem and UpdateItem on the table and nothing else', () => {
    // Prepare
    const { stack } = guardedStack();

    // Act
    const template = Template.fromStack(stack);

    // Assess
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^GuardsTable/), 'Arn'] },
        },
      ]);
    }
  });

  it('raises no cdk-nag AwsSolutions finding', () => {
    // Prepare
    const { app } = guardedStack();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    const synth = () => app.synth();

    // Assess
    expect(synth).not.toThrow();
  });

  it('alarms on CircuitOpened of each system, Sum over 1 minute above 0, including systems granted later', () => {
    // Prepare
    const { stack, guards } = guardedStack();
    const alarms: cloudwatch.Alarm[] = [];
    const systems: string[] = [];

    // Act
    guards.alarmOnOpen((id, metric, what, runbook, system) => {
      const alarm = watch(id, metric, what, runbook, system);
      alarms.push(alarm);
      systems.push(system);
      return alarm;
    });
    guards.grantTo(tinyFunction(stack, 'SendReceipt'), 'email-platform');

    // Assess
    expect(alarms.map((alarm) => alarm.node.id)).toEqual([
      'AccountingCircuitOpened',
      'EmailPlatformCircuitOpened',
    ]);
    expect(systems).toEqual(['accounting', 'email-platform']);
    const [accounting] = alarms;
    const template = Template.fromStack(Stack.of(accounting as cloudwatch.Alarm));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Switchyard',
      MetricName: 'CircuitOpened',
      Dimensions: [{ Name: 'downstream', Value: 'accounting' }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      AlarmDescription: Match.stringLikeRegexp('circuit breaker of accounting opened.*circuit-open\\.md'),
    });
  });

  it('refuses settings that differ between two functions of the same system, or are invalid', () => {
    // Prepare
    const { stack, guards } = guardedStack();

    // Act
    const differing = () =>
      guards.grantTo(tinyFunction(stack, 'Other'), 'accounting', { rate: { vendorLimitPerSecond: 50 } });
    const invalid = () => guards.grantTo(tinyFunction(stack, 'Bad'), 'crm', { breaker: { failureRate: 2 } });

    // Assess
    expect(differing).toThrow(/different settings/);
    expect(invalid).toThrow(/guard settings of crm/);
  });
});
