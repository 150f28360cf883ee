import { GetExecutionHistoryCommand, type HistoryEvent, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
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

/** A paid order whose customer the CRM refuses for good (422), ready to post. */
async function orderTheCrmRefuses() {
  const event = fixture<{
    id: string;
    data: { object: { client_reference_id: string; customer_details: { email: string } } };
  }>('stripe/checkout.session.completed.json');
  const id = unique();
  const email = `refused-${id}@example.com`;
  event.id = `evt_fail${id}`;
  event.data.object.client_reference_id = `order_fail_${id}`;
  event.data.object.customer_details.email = email;
  await injectFault('crm', { path: `/customers/${encodeURIComponent(email)}`, status: 422 });
  return { eventId: event.id, orderId: `order_fail_${id}`, email, body: JSON.stringify(event) };
}

/** The invoice the flow created for `orderId`. */
const invoiceOf = (orderId: string) =>
  eventually('the invoice', async () =>
    (await received('accounting')).find(
      (request) =>
        request.path === '/invoices' && (request.body as { orderId?: string })?.orderId === orderId,
    ),
  );

/** The history of the failed order-paid execution of `eventId`, and the states it left. */
async function failedExecution(eventId: string): Promise<{ exited: string[]; history: HistoryEvent[] }> {
  const stateMachineArn = await physicalId('AWS::StepFunctions::StateMachine', 'OrderPaidFlowStateMachine');
  const history = await eventually('the failed execution', async () => {
    const { executions = [] } = await aws().sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'FAILED' }),
    );
    for (const candidate of executions) {
      const { events = [] } = await aws().sfn.send(
        new GetExecutionHistoryCommand({ executionArn: candidate.executionArn }),
      );
      if (JSON.stringify(events).includes(eventId)) return events;
    }
    return undefined;
  });
  const exited = history.flatMap((entry) => entry.stateExitedEventDetails?.name ?? []);
  return { exited, history };
}

describe('order-paid flow failure, end to end', () => {
  afterEach(async () => {
    await fetch(`${cloud().standIns.crm}/_faults`, { method: 'DELETE' });
    await fetch(`${cloud().standIns.accounting}/_faults`, { method: 'DELETE' });
  });

  it('voids the invoice, emits flow.failed and fails the execution when the CRM refuses the customer (F17)', async () => {
    // Prepare
    const order = await orderTheCrmRefuses();

    // Act
    const response = await post('stripe', order.body);

    // Assess: the compensation voided the invoice that was created
    expect(response.status).toBe(202);
    const invoice = await invoiceOf(order.orderId);
    expect(invoice.headers['idempotency-key']).toBe(`stripe:${order.eventId}:create-invoice`);
    const voided = await eventually('the void of the invoice', async () =>
      (await received('accounting')).find(
        (request) =>
          request.path.endsWith('/void') &&
          request.headers['idempotency-key'] === `stripe:${order.eventId}:void-invoice`,
      ),
    );
    expect(voided.method).toBe('POST');

    // Assess: the execution failed after emitting flow.failed, and no receipt went out
    const { exited } = await failedExecution(order.eventId);
    expect(exited).toEqual(expect.arrayContaining(['CreateInvoice', 'VoidInvoice', 'EmitFlowFailed']));
    expect(exited).not.toContain('SendReceipt');
    expect(exited).not.toContain('ParkSaga');
    await settle(2000);
    const receipts = (await received('email')).filter(
      (request) => (request.body as { to?: string })?.to === order.email,
    );
    expect(receipts).toEqual([]);
  });

  it('parks the saga for manual repair, then fails, when voiding the invoice fails too (F18)', async () => {
    // Prepare: the CRM refuses the customer, and accounting refuses the void (409, terminal) once
    const order = await orderTheCrmRefuses();
    await injectFault('accounting', { path: '/invoices/', status: 409, times: 1 });
    const parkingQueueUrl = await physicalId('AWS::SQS::Queue', 'OrderPaidFlowParkingQueue');

    // Act
    const response = await post('stripe', order.body);

    // Assess: the parking queue holds the saga record, with what was done and both failures
    expect(response.status).toBe(202);
    await invoiceOf(order.orderId);
    const refusedVoid = await eventually('the refused void', async () =>
      (await received('accounting')).find(
        (request) => request.headers['idempotency-key'] === `stripe:${order.eventId}:void-invoice`,
      ),
    );
    const parked = await eventually('the parked saga', async () => {
      const { Messages = [] } = await aws().sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: parkingQueueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 0,
        }),
      );
      const message = Messages.find((candidate) => candidate.Body?.includes(order.eventId));
      return message && { message, record: JSON.parse(message.Body ?? '{}') };
    });
    expect(parked.record).toMatchObject({
      flow: 'order-paid',
      eventKey: `stripe:${order.eventId}`,
      order: { orderId: order.orderId },
      done: { invoiceId: /^\/invoices\/([^/]+)\/void$/.exec(refusedVoid.path)?.[1] },
      pending: ['VoidInvoice'],
      failure: { Error: expect.any(String) },
      compensationFailure: { Error: expect.any(String) },
    });
    expect(parked.record.execution).toMatch(/^arn:aws:states:/);

    // Assess: the execution did not end as a success, and emitted flow.failed after parking
    const { exited } = await failedExecution(order.eventId);
    expect(exited).toEqual(expect.arrayContaining(['VoidInvoice', 'ParkSaga', 'EmitFlowFailed']));
    expect(exited.indexOf('ParkSaga')).toBeLessThan(exited.indexOf('EmitFlowFailed'));
    await aws().sqs.send(
      new DeleteMessageCommand({ QueueUrl: parkingQueueUrl, ReceiptHandle: parked.message.ReceiptHandle }),
    );
  });
});
