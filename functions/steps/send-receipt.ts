import { sendReceipt } from '../connectors/systems.js';
import type { OrderPaid } from '../contracts.js';
import { defineStep } from './step.js';

/** Step 3 of the order-paid flow: `{eventKey, order, invoiceId}` → `{sent: true}`. */
export const handler = defineStep(
  'send-receipt',
  async (input: { eventKey: string; order: OrderPaid; invoiceId: string }, call) => {
    await sendReceipt(call, input.order, input.invoiceId);
    return { sent: true };
  },
);
