import * as z from 'zod';
import { type CanonicalPayload, DetailType } from '../contracts.js';
import { MappingError } from '../shared/errors.js';
import { parsePayload } from './parse.js';

const OrderPaidPayload = z.object({
  id: z.union([z.number().int(), z.string().min(1)]),
  email: z.email().nullish(),
  currency: z.string().length(3),
  total_price: z.string().regex(/^\d+(\.\d+)?$/),
  processed_at: z.iso.datetime({ offset: true }).nullish(),
  updated_at: z.iso.datetime({ offset: true }),
  customer: z
    .object({ email: z.email().nullish(), first_name: z.string().nullish(), last_name: z.string().nullish() })
    .nullish(),
});

/**
 * Maps a Shopify webhook to a canonical event. The `orders/paid` topic becomes `order.paid`, with the
 * decimal `total_price` turned into minor units of the order's currency (ISO 4217 digits); other topics are
 * not routed (`undefined`).
 *
 * Source: https://shopify.dev/docs/api/webhooks?reference=toml#list-of-topics-orders/paid
 * @throws MappingError when the order has no customer email or a malformed amount
 */
export function mapShopify(
  eventType: string,
  payload: unknown,
  eventKey: string,
): CanonicalPayload | undefined {
  if (eventType !== 'orders/paid') return undefined;
  const order = parsePayload(OrderPaidPayload, payload, 'shopify orders/paid');
  const email = order.customer?.email ?? order.email;
  if (!email) throw new MappingError('shopify orders/paid payload lacks or mistypes: email');
  return {
    detailType: DetailType.OrderPaid,
    detail: {
      eventKey,
      orderId: String(order.id),
      currency: order.currency.toLowerCase(),
      amountTotal: toMinorUnits(order.total_price, order.currency),
      customer: {
        email,
        ...(order.customer?.first_name ? { firstName: order.customer.first_name } : {}),
        ...(order.customer?.last_name ? { lastName: order.customer.last_name } : {}),
      },
      paidAt: new Date(order.processed_at ?? order.updated_at).toISOString(),
    },
  };
}

/**
 * ISO 4217 minor-unit digits of the active currencies that do not have 2
 * (https://www.six-group.com/en/products-services/financial-information/data-standards.html, list one).
 * Kept here rather than taken from `Intl`, whose locale data rounds some currencies (HUF, IDR, COP) to
 * whole units and changes with the runtime's ICU version.
 */
const ISO_4217_DIGITS: Readonly<Record<string, number>> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};

/**
 * Converts a decimal amount string ("199.65") to integer minor units (19965) without floating point, using
 * the currency's ISO 4217 number of digits (JPY 0, USD 2, KWD 3).
 * @throws MappingError when the amount has more decimals than the currency allows
 */
export function toMinorUnits(amount: string, currency: string): number {
  const digits = ISO_4217_DIGITS[currency.toUpperCase()] ?? 2;
  const [whole = '0', fraction = ''] = amount.split('.');
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > digits) throw new MappingError(`amount has more than ${digits} decimals`);
  return Number(whole) * 10 ** digits + Number(significant.padEnd(digits, '0') || '0');
}
