/** Signs webhook bodies as each vendor does, with the vendors' own libraries where they publish one. */
import { createHmac } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import type { SignatureScheme } from '../../../functions/contracts.js';

export interface VendorSignOptions {
  /** Signing time, Unix seconds. */
  timestamp: number;
  /** Delivery id for schemes that carry it in a header. */
  eventId?: string;
  /** Event type for schemes that carry it in a header. */
  eventType?: string;
}

/** The signature (and identity) headers a vendor sends with `body`, plus `content-type: application/json`. */
export async function vendorHeaders(
  scheme: SignatureScheme,
  secret: string,
  body: string,
  { timestamp, eventId = 'delivery-1', eventType = 'orders/paid' }: VendorSignOptions,
): Promise<Record<string, string>> {
  const json = { 'Content-Type': 'application/json' };
  switch (scheme) {
    case 'stripe':
      return {
        ...json,
        'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }),
      };
    case 'shopify':
      return {
        ...json,
        'X-Shopify-Topic': eventType,
        'X-Shopify-Webhook-Id': eventId,
        'X-Shopify-Hmac-Sha256': shopifySignature(secret, body),
      };
    case 'github':
      return {
        ...json,
        'X-GitHub-Event': eventType,
        'X-GitHub-Delivery': eventId,
        'X-Hub-Signature-256': await signGithub(secret, body),
      };
    case 'standard-webhooks':
      return {
        ...json,
        'webhook-id': eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': new Webhook(secret).sign(eventId, new Date(timestamp * 1000), body),
      };
  }
}

/** Shopify's documented signature: base64 HMAC-SHA256 of the raw body bytes. */
export function shopifySignature(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}
