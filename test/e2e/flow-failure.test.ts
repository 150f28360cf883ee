import { GetExecutionHistoryCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { aws, cloud, eventually, fixture, physicalId, post, received, settle, unique } from './hub.js';

/** Injects a fault into a stand-in (see local/stand-ins.ts). */
async function injectFault(standIn: 'accounting' | 'crm' | 'email', fault: Record<string, unknown>) {
  const response = await fetch(`${cloud().standIns[standIn]}/_faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fault),
  });
  expect(response.status).toBe(201);
}

describe('order-paid flow failure, end to end', () => {
  afterEach(async () => {
    await fetch(`${cloud().standIns.crm}/_faults`, { method: 'DELETE' });
  });

  it('voids the invoice, emits flow.failed and fails the execution when the CRM refuses the customer', async () => {
    // Prepare: the CRM answers 422 (terminal) for this customer
    const event = fixture<{
      id: string;
      data: { object: { client_reference_id: string; customer_details: { email: string } } };
    }>('stripe/checkout.session.completed.json');
    const id = unique();
    event.id = `evt_fail${id}`;
    event.data.object.client_reference_id = `order_fail_${id}`;
    event.data.object.customer_details.email = `refused-${id}@example.com`;
    await injectFault('crm', {
      path: `/customers/${encodeURIComponent(`refused-${id}@example.com`)}`,
      status: 422,
    });

    // Act
    const response = await post('stripe', JSON.stringify(event));

    // Assess: the compensation voided the invoice that was created
    expect(response.status).toBe(202);
    const invoice = await eventually('the invoice', async () =>
      (await received('accounting')).find(
        (request) => (request.body as { orderId?: string })?.orderId === `order_fail_${id}`,
      ),
    );
    expect(invoice.headers['idempotency-key']).toBe(`stripe:${event.id}:create-invoice`);
    const voided = await eventually('the void of the invoice', async () =>
      (await received('accounting')).find(
        (request) =>
          request.path.endsWith('/void') &&
          request.headers['idempotency-key'] === `stripe:${event.id}:void-invoice`,
      ),
    );
    expect(voided.method).toBe('POST');

    // Assess: the execution failed after emitting flow.failed, and no receipt went out
    const stateMachineArn = await physicalId('AWS::StepFunctions::StateMachine', 'OrderPaidFlowStateMachine');
    const execution = await eventually('the failed execution', async () => {
      const { executions = [] } = await aws().sfn.send(
        new ListExecutionsCommand({ stateMachineArn, statusFilter: 'FAILED' }),
      );
      for (const candidate of executions) {
        const { events = [] } = await aws().sfn.send(
          new GetExecutionHistoryCommand({ executionArn: candidate.executionArn }),
        );
        if (JSON.stringify(events).includes(event.id)) return events;
      }
      return undefined;
    });
    const exited = execution.map((entry) => entry.stateExitedEventDetails?.name).filter(Boolean);
    expect(exited).toEqual(expect.arrayContaining(['CreateInvoice', 'VoidInvoice', 'EmitFlowFailed']));
    expect(exited).not.toContain('SendReceipt');
    await settle(2000);
    const receipts = (await received('email')).filter(
      (request) => (request.body as { to?: string })?.to === `refused-${id}@example.com`,
    );
    expect(receipts).toEqual([]);
  });
});
