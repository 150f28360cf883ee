import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { aws, cloud, eventually, fixture, physicalId, post, received, settle, unique } from './hub.js';

const ROOT = join(import.meta.dirname, '..', '..');

type StripeEvent = {
  id: string;
  data: { object: { client_reference_id: string; customer_details: Record<string, unknown> } };
};

interface Entry {
  pk: string;
  sk: string;
  at: string;
  stage: string;
  source: string;
  eventType?: string;
  component?: string;
  traceId?: string;
  details?: Record<string, unknown>;
  expiresAt: number;
  failureSource?: string;
}

/** Runs the operator CLI against the local cloud, as on-call would. */
async function ops(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    join(ROOT, 'node_modules', '.bin', 'tsx'),
    ['cli/switchyard.ts', '--local', ...args],
    { cwd: ROOT },
  );
  return stdout;
}

/** A signed-ready Stripe checkout of a new order; `poison` leaves out the email the canonical event needs. */
function checkout({ poison = false } = {}) {
  const event = fixture<StripeEvent>('stripe/checkout.session.completed.json');
  const id = unique();
  event.id = `evt_ledger${poison ? 'poison' : ''}${id}`;
  event.data.object.client_reference_id = `order_ledger_${id}`;
  const email = `ledger-${id}@example.com`;
  if (poison) delete event.data.object.customer_details.email;
  else event.data.object.customer_details.email = email;
  return {
    body: JSON.stringify(event),
    eventKey: `stripe:${event.id}`,
    orderId: `order_ledger_${id}`,
    email,
  };
}

/** One event's ledger entries, oldest first: one Query on the table, as `history` does. */
async function history(eventKey: string): Promise<Entry[]> {
  const TableName = await physicalId('AWS::DynamoDB::GlobalTable', 'EventLedgerTable');
  const { Items = [] } = await aws().dynamodb.send(
    new QueryCommand({
      TableName,
      KeyConditionExpression: 'pk = :eventKey',
      ExpressionAttributeValues: { ':eventKey': { S: eventKey } },
    }),
  );
  return Items.map((item) => unmarshall(item) as Entry);
}

/** The history once it holds an entry of `stage`. */
const historyWith = (eventKey: string, stage: string, timeoutMs = 90_000) =>
  eventually(
    `the ${stage} entry of ${eventKey}`,
    async () => {
      const entries = await history(eventKey);
      return entries.some((entry) => entry.stage === stage) ? entries : undefined;
    },
    timeoutMs,
  );

const stagesOf = (entries: Entry[]) => entries.map((entry) => entry.stage);

/** The `at` of the entry of `stage` (the first one). */
const atOf = (entries: Entry[], stage: string) => entries.find((entry) => entry.stage === stage)?.at ?? '';

/** Entries of every order's lifecycle, in the order they must happen (ties allowed: the clock is ms). */
const LIFECYCLE = ['received', 'enqueued', 'routed', 'flow-started', 'step-succeeded', 'delivered'];

/** X-Ray root trace id: `1-<8 hex epoch>-<24 hex>`. */
const TRACE_ID = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;

async function isMiniStack(): Promise<boolean> {
  return fetch(`${cloud().emulator}/_ministack/ready`).then(
    (response) => response.ok,
    () => false,
  );
}

describe('event ledger, end to end', () => {
  afterEach(async () => {
    await fetch(`${cloud().standIns.crm}/_faults`, { method: 'DELETE' });
  });

  it('holds the complete history of a delivered order, in order, one query away, and the CLI prints it', async () => {
    // Prepare
    const order = checkout();

    // Act
    const response = await post('stripe', order.body);

    // Assess: the ledger
    expect(response.status).toBe(202);
    const entries = await historyWith(order.eventKey, 'delivered');
    expect(stagesOf(entries).sort()).toEqual(
      [
        'received',
        'enqueued',
        'routed',
        'flow-started',
        'step-succeeded',
        'step-succeeded',
        'step-succeeded',
        'delivered',
      ].sort(),
    );
    expect(entries.map((entry) => entry.sk)).toEqual(entries.map((entry) => entry.sk).sort());
    for (const [before, after] of LIFECYCLE.slice(0, -1).map((stage, index) => [
      stage,
      LIFECYCLE[index + 1],
    ])) {
      expect(atOf(entries, before ?? ''), `${before} ≤ ${after}`).not.toBe('');
      expect(atOf(entries, before ?? '') <= atOf(entries, after ?? ''), `${before} ≤ ${after}`).toBe(true);
    }
    const steps = entries.filter((entry) => entry.stage === 'step-succeeded');
    expect(steps.map((entry) => entry.details?.step)).toEqual([
      'create-invoice',
      'update-customer',
      'send-receipt',
    ]);
    expect(entries.find((entry) => entry.stage === 'routed')?.eventType).toBe('order.paid');
    const started = entries.find((entry) => entry.stage === 'flow-started');
    expect(started?.details?.executionArn).toMatch(/:execution:/);
    expect(entries.find((entry) => entry.stage === 'delivered')).toMatchObject({
      component: 'order-paid',
      details: { executionArn: started?.details?.executionArn },
    });
    const now = Date.now() / 1000;
    for (const entry of entries) {
      expect(entry.source, entry.sk).toBe('stripe');
      expect(entry.failureSource, entry.sk).toBeUndefined();
      expect(entry.expiresAt, entry.sk).toBeGreaterThan(now + 29 * 24 * 3600);
      expect(entry.expiresAt, entry.sk).toBeLessThan(now + 31 * 24 * 3600);
      expect(JSON.stringify(entry), entry.sk).not.toContain(order.email);
    }

    // Assess: trace ids, where the functions run traced
    const byFunctions = entries.filter((entry) => entry.component !== 'order-paid');
    const traced = byFunctions.filter((entry) => entry.traceId !== undefined);
    if (traced.length === 0 && (await isMiniStack())) {
      console.log(
        'e2e: ledger trace ids not asserted: no function wrote one, so _X_AMZN_TRACE_ID was unset in the ' +
          "emulator's Lambda runtime for this run (MiniStack sets it only for functions with TracingConfig " +
          'Active, ministack/services/lambda_svc.py _xray_trace_id_for_invocation); test/unit covers the writes.',
      );
    } else {
      expect(traced.map((entry) => entry.stage)).toEqual(byFunctions.map((entry) => entry.stage));
      for (const entry of traced) expect(entry.traceId, entry.sk).toMatch(TRACE_ID);
    }

    // Assess: the CLI prints the same history, oldest first
    const printed = (await ops('history', order.eventKey)).trim().split('\n');
    expect(printed.map((line) => line.split(/\s{2,}/)[1])).toEqual(stagesOf(entries));
    expect(printed.at(-1)).toMatch(
      /^\S+Z\s+delivered\s+order-paid\s+order\.paid\s+executionArn=arn:\S+:execution:/,
    );
  });

  it('records a second delivery of an event as received again and duplicate, and starts no second flow', async () => {
    // Prepare: the first delivery is routed
    const order = checkout();
    expect((await post('stripe', order.body)).status).toBe(202);
    await historyWith(order.eventKey, 'routed');

    // Act
    const again = await post('stripe', order.body);

    // Assess
    expect(again.status).toBe(202);
    await historyWith(order.eventKey, 'duplicate');
    const entries = await historyWith(order.eventKey, 'delivered');
    await settle(3000);
    const settled = await history(order.eventKey);
    expect(settled.length).toBe(entries.length);
    const count = (stage: string) => stagesOf(settled).filter((candidate) => candidate === stage).length;
    expect(count('received')).toBe(2);
    expect(count('enqueued')).toBe(2);
    expect(count('routed')).toBe(1);
    expect(count('duplicate')).toBe(1);
    expect(count('flow-started')).toBe(1);
    expect(count('delivered')).toBe(1);
    expect(settled.find((entry) => entry.stage === 'duplicate')).toMatchObject({
      component: 'router',
      eventType: 'checkout.session.completed',
      details: { detailType: 'order.paid' },
    });
    const invoices = (await received('accounting')).filter(
      (request) =>
        request.path === '/invoices' && (request.body as { orderId?: string })?.orderId === order.orderId,
    );
    expect(invoices).toHaveLength(1);
  });

  it('records a poison event as dead-lettered from the inbox, and lists it among the source failures', async () => {
    // Prepare
    const poison = checkout({ poison: true });

    // Act
    const response = await post('stripe', poison.body);

    // Assess: the ledger, after its retries
    expect(response.status).toBe(202);
    const entries = await historyWith(poison.eventKey, 'dead-lettered', 120_000);
    // received and enqueued may share a millisecond, and so swap places in the sort key
    expect(stagesOf(entries).slice(0, 2).sort()).toEqual(['enqueued', 'received']);
    expect(stagesOf(entries)).toHaveLength(3);
    expect(entries[2]).toMatchObject({
      stage: 'dead-lettered',
      component: 'router',
      failureSource: 'stripe',
      details: { queue: 'inbox', errorName: 'MappingError', receiveCount: 5 },
    });

    // Assess: the CLI's history and recent failures of the source
    const printed = await ops('history', poison.eventKey);
    expect(printed).toMatch(/dead-lettered\s+router\s+checkout\.session\.completed\s+.*queue=inbox/);
    const failures = await ops('failures', 'stripe', '--since', '15');
    expect(failures).toContain(`${poison.eventKey}  dead-lettered`);
  });

  it('records a failed order flow: the step that failed, the compensation, and failed', async () => {
    // Prepare: the CRM refuses this customer for good (422)
    const order = checkout();
    const fault = await fetch(`${cloud().standIns.crm}/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: `/customers/${encodeURIComponent(order.email)}`, status: 422 }),
    });
    expect(fault.status).toBe(201);

    // Act
    expect((await post('stripe', order.body)).status).toBe(202);

    // Assess
    const entries = await historyWith(order.eventKey, 'failed');
    const outcomes = entries
      .filter((entry) => entry.stage.startsWith('step-'))
      .map((entry) => `${entry.details?.step} ${entry.stage}`);
    expect(outcomes).toEqual([
      'create-invoice step-succeeded',
      'update-customer step-failed',
      'void-invoice step-succeeded',
    ]);
    expect(entries.find((entry) => entry.stage === 'step-failed')).toMatchObject({
      failureSource: 'stripe',
      details: { errorName: 'TerminalUpstreamError' },
    });
    const failed = entries.at(-1);
    expect(failed).toMatchObject({ stage: 'failed', component: 'order-paid', failureSource: 'stripe' });
    if (failed?.details?.errorName === 'Runtime.HandlerError' && (await isMiniStack())) {
      console.log(
        "e2e: the flow's failed entry names Runtime.HandlerError, not TerminalUpstreamError: MiniStack 1.5.33 " +
          'reports every Lambda error to Step Functions under that name (see test/e2e/faults.test.ts); the ' +
          'step-failed entry, written by the step itself, is asserted to carry the real name above.',
      );
    } else {
      expect(failed?.details?.errorName).toBe('TerminalUpstreamError');
    }
    expect(stagesOf(entries)).not.toContain('delivered');
    const failures = await ops('failures', 'stripe', '--since', '15');
    expect(failures).toContain(`${order.eventKey}  failed`);
    expect(failures).toContain(`${order.eventKey}  step-failed`);
  });
});
