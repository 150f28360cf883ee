import { decodeBase64Sha256, hmacSha256, matchesAny } from './crypto.js';
import { SignatureVerificationError } from './errors.js';
import { signatureHeader } from './headers.js';
import type { Scheme, SignedRequest } from './types.js';

/**
 * Verifies Shopify's `X-Shopify-Hmac-Sha256` header: HMAC-SHA256, keyed with the app's client secret, over
 * the raw body, base64 encoded (44 characters). Shopify signs no timestamp: replays are stopped by the
 * router's deduplication on `X-Shopify-Webhook-Id`.
 *
 * Source: https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook
 * @throws SignatureVerificationError
 */
export function verifyShopify(request: SignedRequest): void {
  const header = signatureHeader(request.headers, 'x-shopify-hmac-sha256');
  if (!header) throw new SignatureVerificationError('missing_signature');
  const signature = decodeBase64Sha256(header);
  if (!signature) throw new SignatureVerificationError('malformed_signature');

  const expected = request.secrets.map((secret) => hmacSha256(secret, request.body));
  if (!matchesAny(expected, [signature])) throw new SignatureVerificationError('signature_mismatch');
}

/** Shopify: JSON bodies; `X-Shopify-Webhook-Id` and `X-Shopify-Topic` (https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates). */
export const shopify: Scheme<'shopify'> = {
  formats: ['json'],
  verify: verifyShopify,
  identify: (headers) => ({
    eventId: headers.single('x-shopify-webhook-id'),
    eventType: headers.single('x-shopify-topic'),
  }),
};
