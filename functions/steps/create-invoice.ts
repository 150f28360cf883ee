import { createInvoice } from '../connectors/systems.js';
import type { OrderPaid } from '../contracts.js';
import { defineStep } from './step.js';

/** Step 1 of the order-paid flow: `{eventKey, order}` → `{invoiceId}`. */
export const handler = defineStep('create-invoice', (input: { eventKey: string; order: OrderPaid }, call) =>
  createInvoice(call, input.order),
);
