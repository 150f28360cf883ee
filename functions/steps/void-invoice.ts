import { voidInvoice } from '../connectors/systems.js';
import { defineStep } from './step.js';

/** Compensation of `create-invoice`: `{eventKey, invoiceId}` → `{voided: true}`. */
export const handler = defineStep(
  'void-invoice',
  async (input: { eventKey: string; invoiceId: string }, call) => {
    await voidInvoice(call, input.invoiceId);
    return { voided: true };
  },
);
