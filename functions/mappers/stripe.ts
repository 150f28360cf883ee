import * as z from 'zod';
import { type CanonicalPayload, DetailType } from '../contracts.js';
import { parsePayload, splitName } from './parse.js';

const CheckoutSessionCompleted = z.object({
  created: z.number().int(),
  data: z.object({
    object: z.object({
      id: z.string().min(1),
      client_reference_id: z.string().nullish(),
      amount_total: z.number().int().nonnegative(),
      currency: z.string().length(3),
      payment_status: z.string(),
      customer_details: z.object({ email: z.email(), name: z.string().nullish() }),
    }),
  }),
});

/** The Checkout events after which an order may be fulfilled (https://docs.stripe.com/checkout/fulfillment). */
const FULFILLABLE = new Set(['checkout.session.completed', 'checkout.session.async_payment_succeeded']);

/**
 * Maps a Stripe event to a canonical event. A Checkout Session that is settled becomes `order.paid`: on
 * `checkout.session.completed` unless its `payment_status` is still `unpaid` (a delayed payment method), and
 * on `checkout.session.async_payment_succeeded` when that payment clears. The order id is the session's
 * `client_reference_id`, else the session id. Other types are not routed (`undefined`).
 *
 * Source: https://docs.stripe.com/api/checkout/sessions/object, https://docs.stripe.com/checkout/fulfillment
 * @throws MappingError when a routed type lacks the fields its canonical event needs
 */
export function mapStripe(
  eventType: string,
  payload: unknown,
  eventKey: string,
): CanonicalPayload | undefined {
  if (!FULFILLABLE.has(eventType)) return undefined;
  const event = parsePayload(CheckoutSessionCompleted, payload, `stripe ${eventType}`);
  const session = event.data.object;
  if (session.payment_status === 'unpaid') return undefined;
  return {
    detailType: DetailType.OrderPaid,
    detail: {
      eventKey,
      orderId: session.client_reference_id ?? session.id,
      currency: session.currency.toLowerCase(),
      amountTotal: session.amount_total,
      customer: { email: session.customer_details.email, ...splitName(session.customer_details.name) },
      paidAt: new Date(event.created * 1000).toISOString(),
    },
  };
}
