import { createHash, randomBytes } from 'node:crypto';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../local/signing.js';
import { stripeEvent } from '../support/bad-inputs.js';
import {
  aws,
  cloud,
  deliver,
  eventually,
  fixture,
  listen,
  physicalId,
  post,
  publishedEvents,
  received,
  settle,
  sourceSettings,
  webhookUrl,
} from './hub.js';

/** Runs `tasks` with at most `concurrency` in flight. */
async function pool<T>(tasks: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  });
  await Promise.all(workers);
  return results;
}

/** A signed delivery of one Stripe checkout, ready to send any number of times. */
async function signedCheckout(unique: string) {
  const body = stripeEvent(unique);
  const headers = await signWebhook(sourceSettings('stripe'), cloud().secrets.stripe ?? '', body);
  return { orderId: `order_${unique}`, send: () => deliver(webhookUrl('stripe'), { headers, body }) };
}

/**
 * Sends like a vendor: a 5xx is not an acknowledgement, so the delivery is repeated (after a pause) until
 * one is acknowledged. Returns every status seen. A 4xx would be final, and fails the caller's assertions.
 */
async function sendUntilAcknowledged(order: { send: () => Promise<{ status: number }> }): Promise<number[]> {
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    const { status } = await order.send();
    statuses.push(status);
    if (status < 500) return statuses;
    await settle(1000);
  }
  return statuses;
}

/** Invoices created so far, counted by order id. */
async function invoiceCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const request of await received('accounting')) {
    const orderId = (request.body as { orderId?: string })?.orderId;
    if (request.path === '/invoices' && orderId) counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
  }
  return counts;
}

/** Waits until every order has its invoice, then lets late duplicates show up before counting. */
async function settledInvoices(orderIds: string[], timeoutMs: number) {
  await eventually(
    `${orderIds.length} invoices`,
    async () => {
      const counts = await invoiceCounts();
      return orderIds.every((id) => counts.has(id)) ? true : undefined;
    },
    timeoutMs,
  );
  await settle(5000);
  return invoiceCounts();
}

describe('delivery guarantees under load, end to end', () => {
  it('applies 100 events exactly once when each arrives as 10 concurrent copies (duplicate storm)', {
    timeout: 300_000,
  }, async () => {
    // Prepare
    const orders = await Promise.all(
      Array.from({ length: 100 }, () => signedCheckout(`storm${randomBytes(5).toString('hex')}`)),
    );

    // Act
    const attempts = await pool(
      orders.flatMap((order) => Array.from({ length: 10 }, () => () => sendUntilAcknowledged(order))),
      50,
    );

    // Assess
    expect(attempts.filter((statuses) => statuses.at(-1) !== 202)).toEqual([]);
    const counts = await settledInvoices(
      orders.map((order) => order.orderId),
      240_000,
    );
    expect(orders.map((order) => counts.get(order.orderId))).toEqual(Array(100).fill(1));
  });

  it('loses and doubles nothing in a burst of 1,000 signed events at concurrency 50 with 30 % duplicates', {
    timeout: 600_000,
  }, async () => {
    // Prepare: 700 distinct GitHub deliveries (each routed to the bus once: the ack and dedup path under
    // load; the flows' own exactly-once is the duplicate storm above), and 300 repeats of some of them
    await listen();
    const body = JSON.stringify(fixture('github/push.json'));
    const distinct = await Promise.all(
      Array.from({ length: 700 }, async () => {
        const delivery = `burst-${randomBytes(6).toString('hex')}`;
        const headers = await signWebhook(sourceSettings('github'), cloud().secrets.github ?? '', body, {
          eventId: delivery,
          eventType: 'push',
        });
        return { delivery, send: () => deliver(webhookUrl('github'), { headers, body }) };
      }),
    );
    const deliveries = [
      ...distinct,
      ...Array.from({ length: 300 }, (_, n) => distinct[(n * 7) % distinct.length] as (typeof distinct)[0]),
    ].sort(() => Math.random() - 0.5);

    // Act: a 5xx (on 2 cores, the emulator runs out of Lambda workers at concurrency 50) is no
    // acknowledgement: the delivery is repeated, as a vendor would
    const attempts = await pool(
      deliveries.map((delivery) => () => sendUntilAcknowledged(delivery)),
      50,
    );

    // Assess: every delivery ends acknowledged, and every distinct event reaches the bus exactly once
    expect(attempts.filter((statuses) => statuses.at(-1) !== 202)).toEqual([]);
    const countsOnBus = async () => {
      const counts = new Map<string, number>();
      for (const event of await publishedEvents()) {
        const key = String(event.detail?.eventKey);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return distinct.map(({ delivery }) => counts.get(`github:${delivery}`) ?? 0);
    };
    await eventually(
      'every burst event on the bus',
      async () => ((await countsOnBus()).every((count) => count > 0) ? true : undefined),
      300_000,
    );
    await settle(5000);
    expect((await countsOnBus()).filter((count) => count !== 1)).toEqual([]);
  });

  it('starts one execution per event, however often the event reaches the flow (F19)', async () => {
    // Prepare
    const unique = `once${randomBytes(5).toString('hex')}`;
    const order = await signedCheckout(unique);
    const stateMachineArn = await physicalId('AWS::StepFunctions::StateMachine', 'OrderPaidFlowStateMachine');

    // Act: the same event three times, one after the other
    for (let attempt = 0; attempt < 3; attempt++)
      expect((await sendUntilAcknowledged(order)).at(-1)).toBe(202);

    // Assess
    await settledInvoices([order.orderId], 60_000);
    const { executions = [] } = await aws().sfn.send(
      new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 }),
    );
    const name = `order-paid-${createHash('sha256').update(`stripe:evt_${unique}`).digest('hex')}`;
    expect(executions.filter((execution) => execution.name === name)).toHaveLength(1);
  });

  it('keeps the newest contact state when updates arrive out of order (F15)', async () => {
    // Prepare: three versions of one contact, sent newest first
    const id = randomBytes(5).toString('hex');
    const email = `ooo-${id}@example.com`;
    const version = (type: string, minute: number, firstName: string) => {
      const event = fixture<{ type: string; data: Record<string, string> }>('crm/contact.created.json');
      event.type = type;
      event.data.id = `ct_${id}`;
      event.data.email = email;
      event.data.firstName = firstName;
      event.data.updatedAt = `2026-11-21T10:${String(minute).padStart(2, '0')}:00Z`;
      return JSON.stringify(event);
    };
    const path = `/subscribers/${encodeURIComponent(email)}`;

    // Act
    expect((await post('crm', version('contact.updated', 20, 'Newest'))).status).toBe(202);
    await eventually('the newest update', async () =>
      (await received('email')).some((request) => request.path === path) ? true : undefined,
    );
    expect((await post('crm', version('contact.created', 0, 'Oldest'))).status).toBe(202);
    expect((await post('crm', version('contact.updated', 10, 'Older'))).status).toBe(202);
    await settle(5000);

    // Assess
    const calls = (await received('email')).filter((request) => request.path === path);
    expect(calls.map((request) => (request.body as { firstName?: string }).firstName)).toEqual(['Newest']);
  });
});
