import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STAGES } from '../../bin/stages.js';
import { SwitchyardStack } from '../../lib/switchyard-stack.js';

type Resource = { Type: string; Properties?: Record<string, unknown> };

let resources: Record<string, Resource>;

beforeAll(() => {
  const settings = STAGES.production;
  if (!settings) throw new Error('no production stage');
  const stack = new SwitchyardStack(new App(), 'Switchyard', { settings, env: { region: 'eu-west-1' } });
  resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);

/** The logical id a `Ref` or `Fn::GetAtt` points to. */
const refId = (value: unknown): string | undefined => {
  const ref = value as { 'Fn::GetAtt'?: [string, string]; Ref?: string };
  return ref?.['Fn::GetAtt']?.[0] ?? ref?.Ref;
};

/** Every IAM action the role `roleId` is granted by the stack's policies (inline and attached). */
function actionsOf(roleId: string): string[] {
  const role = resources[roleId];
  const inline = (role?.Properties?.Policies as { PolicyDocument: { Statement: unknown[] } }[]) ?? [];
  const attached = ofType('AWS::IAM::Policy')
    .filter(([, policy]) =>
      ((policy.Properties?.Roles as unknown[] | undefined) ?? []).some((ref) => refId(ref) === roleId),
    )
    .map(([, policy]) => policy.Properties as { PolicyDocument: { Statement: unknown[] } });
  return [...inline, ...attached]
    .flatMap((policy) => policy.PolicyDocument.Statement as { Effect: string; Action: string | string[] }[])
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) => [statement.Action].flat());
}

/**
 * X-Ray across the path of an event: API Gateway starts the trace, Lambda continues it, SQS and EventBridge
 * carry its header on to the next consumer (nothing to configure), Step Functions continues it through the
 * steps. A hop without tracing breaks the service map there.
 */
describe('tracing (X-Ray)', () => {
  it('is enabled on the webhook API stage', () => {
    const stages = ofType('AWS::ApiGateway::Stage');
    expect(stages.length).toBeGreaterThanOrEqual(1);
    for (const [id, stage] of stages) expect(stage.Properties?.TracingEnabled, id).toBe(true);
  });

  it('is active on every Lambda function, whose role may write traces', () => {
    const functions = ofType('AWS::Lambda::Function');
    // ingest, router, starter, four steps, email sync at least
    expect(functions.length).toBeGreaterThanOrEqual(8);
    for (const [id, fn] of functions) {
      expect(fn.Properties?.TracingConfig, id).toEqual({ Mode: 'Active' });
      const roleId = refId(fn.Properties?.Role);
      expect(roleId, `${id} role`).toBeDefined();
      expect(actionsOf(roleId ?? ''), `${id} role`).toEqual(
        expect.arrayContaining(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']),
      );
    }
  });

  it('is enabled on every state machine, whose role may write traces', () => {
    const machines = ofType('AWS::StepFunctions::StateMachine');
    expect(machines.length).toBeGreaterThanOrEqual(1);
    for (const [id, machine] of machines) {
      expect(machine.Properties?.TracingConfiguration, id).toEqual({ Enabled: true });
      expect(actionsOf(refId(machine.Properties?.RoleArn) ?? ''), `${id} role`).toEqual(
        expect.arrayContaining(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']),
      );
    }
  });
});
