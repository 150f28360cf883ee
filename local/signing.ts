/**
 * Signs webhook payloads the way each vendor does, for `npm run send` and the end-to-end tests: with the
 * vendors' own libraries where one exists (stripe's test header generator, @octokit/webhooks-methods,
 * standardwebhooks), and with this project's signer for Shopify, which publishes none.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import type { SignatureScheme } from '../functions/contracts.js';

export interface SignOptions {
  /** Vendor event type for schemes that carry it in a header (Shopify topic, GitHub event). */
  eventType?: string;
  /** Vendor delivery id for schemes that carry it in a header. @default a new random id */
  eventId?: string;
  /** Signing time, Unix seconds. @default now */
  timestamp?: number;
}

/**
 * The headers a vendor would send with `body`, signed with `secret`.
 * @returns header name → value, including `content-type: application/json`
 */
export async function signWebhook(
  scheme: SignatureScheme,
  secret: string,
  body: string,
  options: SignOptions = {},
): Promise<Record<string, string>> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const json = { 'content-type': 'application/json' };
  switch (scheme) {
    case 'stripe':
      return {
        ...json,
        'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }),
      };
    case 'github':
      return {
        ...json,
        'x-github-event': options.eventType ?? 'push',
        'x-github-delivery': options.eventId ?? randomUUID(),
        'x-hub-signature-256': await signGithub(secret, body),
      };
    case 'shopify':
      return {
        ...json,
        'x-shopify-topic': options.eventType ?? 'orders/paid',
        'x-shopify-webhook-id': options.eventId ?? randomUUID(),
        'x-shopify-triggered-at': new Date(timestamp * 1000).toISOString(),
        'x-shopify-shop-domain': 'switchyard-demo.myshopify.com',
        'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
      };
    case 'standard-webhooks': {
      const id = options.eventId ?? `msg_${randomBytes(12).toString('hex')}`;
      return {
        ...json,
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': new Webhook(secret).sign(id, new Date(timestamp * 1000), body),
      };
    }
  }
}

/** A new random signing secret in the format the scheme's vendors issue. */
export function newSigningSecret(scheme: SignatureScheme): string {
  switch (scheme) {
    case 'stripe':
      return `whsec_${randomBytes(24).toString('hex')}`;
    case 'standard-webhooks':
      return `whsec_${randomBytes(32).toString('base64')}`;
    case 'shopify':
    case 'github':
      return randomBytes(32).toString('hex');
  }
}
