import { DisableRuleCommand, EnableRuleCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileSummary } from '../../functions/reconcile/handler.js';
import type { GitHubApiRequest, HookDeliveryRecord } from '../../local/github-stand-in.js';
import { aws, cloud, eventually, fixture, listen, physicalId, published, settle } from './hub.js';

/** The GitHub stand-in: the hook that delivers to the hub's `github` source, and GitHub's REST API. */
function github(): string {
  const url = cloud().standIns.github;
  if (!url) throw new Error('this local cloud has no GitHub stand-in: restart it with the current code');
  return url;
}

/** The fault proxy in front of the emulator: every AWS call of the functions goes through it. */
function proxy(): string {
  const url = cloud().awsFaultProxy;
  if (!url) throw new Error('this local cloud has no AWS fault proxy (it uses AWS_ENDPOINT_URL)');
  return url;
}

/** Makes the hook deliver a push; returns the attempt as GitHub records it. */
async function deliverPush(): Promise<HookDeliveryRecord> {
  const response = await fetch(`${github()}/_deliver`, {
    method: 'POST',
    body: JSON.stringify({ event: 'push', payload: fixture('github/push.json') }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as HookDeliveryRecord;
}

/** Every attempt of the event `guid`, as GitHub records them. */
async function attemptsOf(guid: string): Promise<HookDeliveryRecord[]> {
  const all = (await (await fetch(`${github()}/_deliveries`)).json()) as HookDeliveryRecord[];
  return all.filter((delivery) => delivery.guid === guid);
}

/** The redeliveries the REST API was asked for, of any of `deliveryIds`. */
async function redeliveryRequests(deliveryIds: number[]): Promise<GitHubApiRequest[]> {
  const calls = (await (await fetch(`${github()}/_requests`)).json()) as GitHubApiRequest[];
  return calls.filter(
    (call) =>
      call.method === 'POST' && deliveryIds.some((id) => call.path.endsWith(`/deliveries/${id}/attempts`)),
  );
}

/** Runs the reconciliation once, as its schedule would (a synchronous invocation through the emulator). */
async function reconcile(): Promise<Extract<ReconcileSummary, { status: 'done' }>> {
  const FunctionName = await physicalId('AWS::Lambda::Function', 'ReconcileGithubFunction');
  const result = await aws().lambda.send(
    new InvokeCommand({
      FunctionName,
      Payload: Buffer.from(
        JSON.stringify({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }),
      ),
    }),
  );
  const payload = JSON.parse(Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8'));
  expect(result.FunctionError, JSON.stringify(payload)).toBeUndefined();
  const summary = payload as ReconcileSummary;
  if (summary.status !== 'done') throw new Error(`the reconciliation did not run: ${summary.status}`);
  return summary;
}

describe('reconciliation of GitHub deliveries, end to end (F26)', () => {
  let schedule: string;

  // The test runs the job itself: the schedule (every 10 minutes) must not run it meanwhile.
  beforeAll(async () => {
    schedule = await physicalId('AWS::Events::Rule', 'ReconcileGithubSchedule');
    await aws().eventbridge.send(new DisableRuleCommand({ Name: schedule }));
  });

  afterAll(async () => {
    if (schedule) await aws().eventbridge.send(new EnableRuleCommand({ Name: schedule }));
  });

  afterEach(async () => {
    await fetch(`${proxy()}/_faults`, { method: 'DELETE' });
  });

  it('redelivers a delivery the hub refused, once: the event reaches the bus once, and a second run redelivers nothing', {
    timeout: 180_000,
  }, async () => {
    // Prepare: one push the hub accepts; then one it refuses (503) while SQS refuses messages
    await listen();
    const accepted = await deliverPush();
    const fault = await fetch(`${proxy()}/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        service: 'sqs',
        operation: 'SendMessage',
        status: 503,
        errorCode: 'ServiceUnavailable',
      }),
    });
    expect(fault.status).toBe(201);
    const refused = await deliverPush();
    await fetch(`${proxy()}/_faults`, { method: 'DELETE' });
    expect(accepted).toMatchObject({ status: 'OK', status_code: 202 });
    expect(refused).toMatchObject({
      status: 'Invalid HTTP Response: 503',
      status_code: 503,
      redelivery: false,
    });

    // Act
    const first = await reconcile();
    const redelivery = await eventually('the redelivery recorded by GitHub', async () =>
      (await attemptsOf(refused.guid)).find((attempt) => attempt.redelivery),
    );
    await eventually('the event on the bus', async () =>
      (await published(`github:${refused.guid}`)).length > 0 ? true : undefined,
    );
    const second = await reconcile();
    await settle(4000);

    // Assess
    expect(first).toMatchObject({ status: 'done', complete: true });
    expect(first.redelivered).toContain(refused.guid);
    expect(first.redelivered).not.toContain(accepted.guid);
    expect(redelivery).toMatchObject({ status: 'OK', status_code: 202 });
    expect([...second.redelivered, ...second.deferred]).not.toContain(refused.guid);
    expect(
      await redeliveryRequests((await attemptsOf(refused.guid)).map((attempt) => attempt.id)),
    ).toHaveLength(1);
    expect(await attemptsOf(refused.guid)).toHaveLength(2);
    expect(await attemptsOf(accepted.guid)).toHaveLength(1);
    expect(await published(`github:${refused.guid}`)).toHaveLength(1);
    expect(await published(`github:${accepted.guid}`)).toHaveLength(1);
  });
});
