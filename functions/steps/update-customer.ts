import { upsertCustomer } from '../connectors/systems.js';
import type { OrderPaid } from '../contracts.js';
import { defineStep } from './step.js';

/** Step 2 of the order-paid flow: `{eventKey, order}` → `{updated: true}`. */
export const handler = defineStep(
  'update-customer',
  async (input: { eventKey: string; order: OrderPaid }, call) => {
    await upsertCustomer(call, input.order);
    return { updated: true };
  },
);
