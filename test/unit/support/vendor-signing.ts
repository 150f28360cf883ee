/** Signs webhook bodies as each vendor does, with the vendors' own libraries where they publish one. */
import { createHash, createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import twilio from 'twilio';
import type { HmacOptions, SchemeOptions, SignatureScheme } from '../../../functions/sources.js';

export interface VendorSignOptions {
  /** Signing time, Unix seconds. */
  timestamp: number;
  /** Delivery id for schemes that carry it in a header. */
  eventId?: string;
  /** Event type for schemes that carry it in a header. */
  eventType?: string;
  /** How the body is encoded (Slack and Twilio send both). @default 'form' for Twilio, else 'json' */
  format?: 'json' | 'form';
}

/**
 * The signature (and identity) headers a vendor sends with `body`, plus its `Content-Type`. Schemes with
 * options (Twilio, hmac) need the source's options; the others may be given by name.
 */
export async function vendorHeaders(
  source: SignatureScheme | SchemeOptions,
  secret: string,
  body: string,
  { timestamp, eventId = 'delivery-1', eventType = 'orders/paid', format }: VendorSignOptions,
): Promise<Record<string, string>> {
  const options = typeof source === 'string' ? undefined : source;
  const scheme = typeof source === 'string' ? source : source.scheme;
  const form = (format ?? (scheme === 'twilio' ? 'form' : 'json')) === 'form';
  const contentType = { 'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json' };
  switch (scheme) {
    case 'stripe':
      return {
        ...contentType,
        'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }),
      };
    case 'shopify':
      return {
        ...contentType,
        'X-Shopify-Topic': eventType,
        'X-Shopify-Webhook-Id': eventId,
        'X-Shopify-Hmac-Sha256': shopifySignature(secret, body),
      };
    case 'github':
      return {
        ...contentType,
        'X-GitHub-Event': eventType,
        'X-GitHub-Delivery': eventId,
        'X-Hub-Signature-256': await signGithub(secret, body),
      };
    case 'standard-webhooks':
      return {
        ...contentType,
        'webhook-id': eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': new Webhook(secret).sign(eventId, new Date(timestamp * 1000), body),
      };
    case 'slack':
      return {
        ...contentType,
        'X-Slack-Request-Timestamp': String(timestamp),
        'X-Slack-Signature': slackSignature(secret, timestamp, body),
      };
    case 'twilio': {
      if (options?.scheme !== 'twilio')
        throw new Error('twilio signing needs the source options (publicUrl)');
      const signature = form
        ? twilioSignature(secret, options.publicUrl, formParams(body))
        : twilioSignature(secret, twilioJsonUrl(options.publicUrl, body), {});
      return { ...contentType, 'I-Twilio-Idempotency-Token': eventId, 'X-Twilio-Signature': signature };
    }
    case 'hmac': {
      if (options?.scheme !== 'hmac') throw new Error('hmac signing needs the source options');
      return {
        ...contentType,
        ...('header' in options.eventId ? { [options.eventId.header]: eventId } : {}),
        ...('header' in options.eventType ? { [options.eventType.header]: eventType } : {}),
        ...(options.timestampHeader ? { [options.timestampHeader]: String(timestamp) } : {}),
        [options.signatureHeader]: hmacSignature(options, secret, body, timestamp),
      };
    }
  }
}

/** Shopify's documented signature: base64 HMAC-SHA256 of the raw body bytes. */
export function shopifySignature(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}

/**
 * Slack's documented `X-Slack-Signature` (Slack publishes no signer, only verifiers): `v0=` and the hex
 * HMAC-SHA256 of `v0:<timestamp>:<body>` (https://docs.slack.dev/authentication/verifying-requests-from-slack).
 */
export function slackSignature(secret: string, timestamp: number | string, body: string | Buffer): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

/** `X-Twilio-Signature` as twilio-node computes it, for the URL and form parameters Twilio sends. */
export function twilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string | string[]>,
): string {
  return twilio.getExpectedTwilioSignature(authToken, url, params);
}

/** The URL Twilio calls (and signs) for a JSON body: `bodySHA256=<hex SHA-256 of the body>` appended. */
export function twilioJsonUrl(url: string, body: string | Buffer): string {
  const hash = createHash('sha256').update(body).digest('hex');
  return `${url}${url.includes('?') ? '&' : '?'}bodySHA256=${hash}`;
}

/** Form fields as a web framework hands them to twilio-node: name → value, or → values when repeated. */
export function formParams(body: string): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(body)) {
    const previous = params[name];
    params[name] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return params;
}

/** The signature header value a generic-HMAC vendor sends: prefix and digest of the message template. */
export function hmacSignature(
  options: HmacOptions,
  secret: string,
  body: string | Buffer,
  timestamp: number | string,
): string {
  const template = options.message ?? (options.timestampHeader ? '{timestamp}.{body}' : '{body}');
  const mac = createHmac(options.algorithm, secret);
  for (const part of template.split(/(\{timestamp\}|\{body\})/)) {
    mac.update(part === '{body}' ? body : part === '{timestamp}' ? String(timestamp) : part);
  }
  return `${options.prefix ?? ''}${mac.digest(options.encoding)}`;
}

/** An Ed25519 key pair as a Standard Webhooks `v1a` source has it: the private key and the `whpk_` secret. */
export interface Ed25519Pair {
  privateKey: KeyObject;
  /** `whpk_` + base64 of the 32-byte public key: what the hub stores. */
  verifying: string;
}

export function ed25519Pair(): Ed25519Pair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { privateKey, verifying: `whpk_${raw.toString('base64')}` };
}

/** A Standard Webhooks `v1a,<base64 Ed25519 signature>` entry over `<id>.<timestamp>.<body>`. */
export function v1aEntry(
  privateKey: KeyObject,
  id: string,
  timestamp: number | string,
  body: string | Buffer,
): string {
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), Buffer.from(body)]);
  return `v1a,${sign(null, signed, privateKey).toString('base64')}`;
}
