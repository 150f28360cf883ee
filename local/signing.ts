/**
 * Signs webhook payloads the way each vendor does, for `npm run send` and the end-to-end tests: with the
 * vendors' own libraries where one exists (stripe's test header generator, @octokit/webhooks-methods,
 * standardwebhooks, twilio's `getExpectedTwilioSignature`), and with this project's signer where the vendor
 * publishes none (Shopify, Slack, Standard Webhooks `v1a`, generic HMAC), following the vendor's documentation.
 *
 * Secrets are in the format the vendor issues (`newSigningSecret`). Standard Webhooks sources may instead use
 * an Ed25519 key pair (`newSigningKeyPair`): the sender signs with the `whsk_` private key, the hub stores only
 * the `whpk_` public key.
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
} from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import twilio from 'twilio';
import type { SchemeOptions, SignatureScheme } from '../functions/sources.js';

export interface SignOptions {
  /** Vendor event type for schemes that carry it in a header (Shopify topic, GitHub event, hmac header locator). */
  eventType?: string;
  /** Vendor delivery id for schemes that carry it in a header. @default a new random id */
  eventId?: string;
  /** Signing time, Unix seconds. @default now */
  timestamp?: number;
  /**
   * How `body` is encoded, for the schemes whose vendors send both (Slack, Twilio).
   * @default 'form' for Twilio, 'json' otherwise
   */
  format?: 'json' | 'form';
}

/** Local-only prefix of an Ed25519 private key: base64 of its 32-byte seed (RFC 8032 §5.1.5). */
const PRIVATE_KEY_PREFIX = 'whsk_';
/** Prefix of an Ed25519 public key as the hub stores it: base64 of its 32 bytes. */
const PUBLIC_KEY_PREFIX = 'whpk_';
/** DER of an Ed25519 PKCS #8 private key up to the 32-byte seed (RFC 8410 §7). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The headers a vendor would send with `body`, signed with `secret` as the source's scheme says.
 * For a Twilio JSON body, post to `requestUrl(…)`: Twilio adds `bodySHA256` to the URL it calls.
 * @param secret the signing secret; for Standard Webhooks a `whsk_` private key signs `v1a`, else `v1`
 * @returns header name → value, including `content-type`
 */
export async function signWebhook(
  source: SchemeOptions,
  secret: string,
  body: string,
  options: SignOptions = {},
): Promise<Record<string, string>> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const format = options.format ?? (source.scheme === 'twilio' ? 'form' : 'json');
  const contentType = {
    'content-type': format === 'form' ? 'application/x-www-form-urlencoded' : 'application/json',
  };
  switch (source.scheme) {
    case 'stripe':
      return {
        ...contentType,
        'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }),
      };
    case 'github':
      return {
        ...contentType,
        'x-github-event': options.eventType ?? 'push',
        'x-github-delivery': options.eventId ?? randomUUID(),
        'x-hub-signature-256': await signGithub(secret, body),
      };
    case 'shopify':
      return {
        ...contentType,
        'x-shopify-topic': options.eventType ?? 'orders/paid',
        'x-shopify-webhook-id': options.eventId ?? randomUUID(),
        'x-shopify-triggered-at': new Date(timestamp * 1000).toISOString(),
        'x-shopify-shop-domain': 'switchyard-demo.myshopify.com',
        'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
      };
    case 'standard-webhooks': {
      const id = options.eventId ?? `msg_${randomBytes(12).toString('hex')}`;
      const signature = secret.startsWith(PRIVATE_KEY_PREFIX)
        ? `v1a,${sign(null, Buffer.from(`${id}.${timestamp}.${body}`), privateKeyOf(secret)).toString('base64')}`
        : new Webhook(secret).sign(id, new Date(timestamp * 1000), body);
      return {
        ...contentType,
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      };
    }
    case 'slack':
      // https://docs.slack.dev/authentication/verifying-requests-from-slack
      return {
        ...contentType,
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`,
      };
    case 'twilio': {
      const url = requestUrl(source, source.publicUrl, body, { format });
      const params = format === 'form' ? formParams(body) : {};
      return {
        ...contentType,
        'i-twilio-idempotency-token': options.eventId ?? randomUUID(),
        'x-twilio-signature': twilio.getExpectedTwilioSignature(secret, url, params),
      };
    }
    case 'hmac': {
      const template = source.message ?? (source.timestampHeader ? '{timestamp}.{body}' : '{body}');
      const message = template.replaceAll('{timestamp}', String(timestamp)).replaceAll('{body}', body);
      const digest = createHmac(source.algorithm, secret).update(message).digest(source.encoding);
      return {
        ...contentType,
        ...('header' in source.eventId ? { [source.eventId.header]: options.eventId ?? randomUUID() } : {}),
        ...('header' in source.eventType
          ? { [source.eventType.header]: options.eventType ?? 'test.event' }
          : {}),
        ...(source.timestampHeader ? { [source.timestampHeader]: String(timestamp) } : {}),
        [source.signatureHeader]: `${source.prefix ?? ''}${digest}`,
      };
    }
  }
}

/**
 * The URL the vendor calls for `body` at `url`: the same URL, except for Twilio JSON bodies, which Twilio
 * calls with `bodySHA256=<hex SHA-256 of the body>` appended to the query (and signs that URL).
 */
export function requestUrl(
  source: SchemeOptions,
  url: string,
  body: string,
  options: Pick<SignOptions, 'format'> = {},
): string {
  if (source.scheme !== 'twilio' || (options.format ?? 'form') !== 'json') return url;
  const bodySha256 = createHash('sha256').update(body, 'utf8').digest('hex');
  return `${url}${url.includes('?') ? '&' : '?'}bodySHA256=${bodySha256}`;
}

/**
 * A new random signing secret in the format the scheme's vendors issue: `whsec_…` for Stripe and Standard
 * Webhooks (`v1`), 32 hex characters for Slack signing secrets and Twilio auth tokens, 64 hex otherwise.
 * For Standard Webhooks `v1a` (asymmetric) use `newSigningKeyPair`.
 */
export function newSigningSecret(source: Pick<SchemeOptions, 'scheme'>): string {
  const scheme: SignatureScheme = source.scheme;
  switch (scheme) {
    case 'stripe':
      return `whsec_${randomBytes(24).toString('hex')}`;
    case 'standard-webhooks':
      return `whsec_${randomBytes(32).toString('base64')}`;
    case 'slack':
    case 'twilio':
      return randomBytes(16).toString('hex');
    case 'shopify':
    case 'github':
    case 'hmac':
      return randomBytes(32).toString('hex');
  }
}

/**
 * A new Ed25519 key pair for a Standard Webhooks `v1a` source: `signing` (`whsk_` + base64 of the 32-byte
 * private seed; for the sender, never stored in the hub) and `verifying` (`whpk_` + base64 of the 32-byte
 * public key; the hub's "signing secret" for that source).
 */
export function newSigningKeyPair(): { signing: string; verifying: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(ED25519_PKCS8_PREFIX.length);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return {
    signing: `${PRIVATE_KEY_PREFIX}${seed.toString('base64')}`,
    verifying: `${PUBLIC_KEY_PREFIX}${raw.toString('base64')}`,
  };
}

/** The `whpk_` public key of a `whsk_` private key. */
export function verifyingKeyOf(signing: string): string {
  const raw = createPublicKey(privateKeyOf(signing)).export({ format: 'der', type: 'spki' }).subarray(-32);
  return `${PUBLIC_KEY_PREFIX}${raw.toString('base64')}`;
}

function privateKeyOf(signing: string) {
  const seed = Buffer.from(signing.slice(PRIVATE_KEY_PREFIX.length), 'base64');
  if (seed.length !== 32) throw new Error('a whsk_ key is the base64 of a 32-byte Ed25519 seed');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Form fields as twilio-node takes them: name → value, or → values for a repeated name. */
function formParams(body: string): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(body)) {
    const previous = params[name];
    params[name] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return params;
}
