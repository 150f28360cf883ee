/**
 * The calls the hub makes to the company's systems, one function per operation, each returning only the
 * fields the flows use. Paths and bodies follow the systems' APIs (accounting `/invoices`, CRM
 * `/customers/{email}`, email platform `/messages` and `/subscribers/{email}`).
 */
import type { ContactChanged, OrderPaid } from '../contracts.js';
import { callDownstream } from './http.js';

/** Where and how long: the system's base URL and the caller's remaining time, milliseconds. */
export interface CallContext {
  baseUrl: string;
  remainingTimeMs: number;
  idempotencyKey: string;
}

/** Accounting: creates the invoice of a paid order. Returns the invoice id. */
export async function createInvoice(call: CallContext, order: OrderPaid): Promise<{ invoiceId: string }> {
  const invoice = (await callDownstream(
    call.baseUrl,
    {
      method: 'POST',
      path: '/invoices',
      idempotencyKey: call.idempotencyKey,
      body: {
        orderId: order.orderId,
        customerEmail: order.customer.email,
        currency: order.currency,
        amountTotal: order.amountTotal,
      },
    },
    call.remainingTimeMs,
  )) as { id?: unknown };
  if (typeof invoice?.id !== 'string') throw new TypeError('accounting answered without an invoice id');
  return { invoiceId: invoice.id };
}

/** Accounting: voids an invoice (the compensation of `createInvoice`). */
export async function voidInvoice(call: CallContext, invoiceId: string): Promise<void> {
  await callDownstream(
    call.baseUrl,
    {
      method: 'POST',
      path: `/invoices/${encodeURIComponent(invoiceId)}/void`,
      idempotencyKey: call.idempotencyKey,
    },
    call.remainingTimeMs,
  );
}

/** CRM: creates or updates the paying customer and records their last order. */
export async function upsertCustomer(call: CallContext, order: OrderPaid): Promise<void> {
  const { email, firstName, lastName } = order.customer;
  await callDownstream(
    call.baseUrl,
    {
      method: 'PUT',
      path: `/customers/${encodeURIComponent(email)}`,
      idempotencyKey: call.idempotencyKey,
      body: { email, firstName, lastName, lastOrderId: order.orderId },
    },
    call.remainingTimeMs,
  );
}

/** Email platform: sends the receipt of a paid order. */
export async function sendReceipt(call: CallContext, order: OrderPaid, invoiceId: string): Promise<void> {
  await callDownstream(
    call.baseUrl,
    {
      method: 'POST',
      path: '/messages',
      idempotencyKey: call.idempotencyKey,
      body: {
        to: order.customer.email,
        template: 'receipt',
        data: { orderId: order.orderId, invoiceId, amountTotal: order.amountTotal, currency: order.currency },
      },
    },
    call.remainingTimeMs,
  );
}

/** Email platform: subscribes a contact, or updates an existing subscriber (PUT is an upsert). */
export async function upsertSubscriber(call: CallContext, contact: ContactChanged): Promise<void> {
  await callDownstream(
    call.baseUrl,
    {
      method: 'PUT',
      path: `/subscribers/${encodeURIComponent(contact.email)}`,
      idempotencyKey: call.idempotencyKey,
      body: { email: contact.email, firstName: contact.firstName, lastName: contact.lastName },
    },
    call.remainingTimeMs,
  );
}

/** Email platform: unsubscribes a contact. */
export async function removeSubscriber(call: CallContext, contact: ContactChanged): Promise<void> {
  await callDownstream(
    call.baseUrl,
    {
      method: 'DELETE',
      path: `/subscribers/${encodeURIComponent(contact.email)}`,
      idempotencyKey: call.idempotencyKey,
    },
    call.remainingTimeMs,
  );
}
