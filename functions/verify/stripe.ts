import { checkTimestamp, decodeHexSha256, hmacSha256, matchesAny } from './crypto.js';
import { SignatureVerificationError } from './errors.js';
import { signatureHeader } from './headers.js';
import {
  fieldsOf,
  MAX_SIGNATURE_HEADER_LENGTH,
  MAX_SIGNATURES_PER_HEADER,
  type Scheme,
  type SignedRequest,
} from './types.js';

/**
 * Verifies Stripe's `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` header: HMAC-SHA256, keyed
 * with the endpoint secret (`whsec_…` used as-is), over `"<t>.<raw body>"`, hex encoded. Only `v1`
 * signatures count (`v0` and unknown schemes are ignored, so no downgrade); exactly one `t` is allowed;
 * the timestamp must be within the tolerance in both directions (Stripe's own library checks only the past).
 *
 * Source: https://docs.stripe.com/webhooks#verify-manually
 * @throws SignatureVerificationError
 */
export function verifyStripe(request: SignedRequest): void {
  const header = signatureHeader(request.headers, 'stripe-signature');
  if (!header) throw new SignatureVerificationError('missing_signature');
  if (header.length > MAX_SIGNATURE_HEADER_LENGTH)
    throw new SignatureVerificationError('malformed_signature');

  const timestamps: string[] = [];
  const signatures: Buffer[] = [];
  for (const item of header.split(',')) {
    const separator = item.indexOf('=');
    const key = item.slice(0, separator);
    // Scheme names are lower-case letters and digits; anything else (a space after a comma, as when a proxy
    // joins two Stripe-Signature headers into one) is a malformed header, not an entry to skip.
    if (separator <= 0 || !/^[a-z0-9]+$/.test(key))
      throw new SignatureVerificationError('malformed_signature');
    const value = item.slice(separator + 1);
    if (key === 't') timestamps.push(value);
    if (key === 'v1') {
      const decoded = decodeHexSha256(value);
      if (!decoded) throw new SignatureVerificationError('malformed_signature');
      signatures.push(decoded);
    }
  }
  const [timestamp] = timestamps;
  if (timestamp === undefined || signatures.length === 0) {
    throw new SignatureVerificationError('missing_signature');
  }
  if (timestamps.length > 1 || signatures.length > MAX_SIGNATURES_PER_HEADER) {
    throw new SignatureVerificationError('malformed_signature');
  }
  checkTimestamp(timestamp, request.nowSeconds, request.toleranceSeconds);

  const expected = request.secrets.map((secret) => hmacSha256(secret, `${timestamp}.`, request.body));
  if (!matchesAny(expected, signatures)) throw new SignatureVerificationError('signature_mismatch');
}

/** Stripe: JSON bodies; the event id and type are the body's `id` (`evt_…`) and `type` (https://docs.stripe.com/api/events/object). */
export const stripe: Scheme<'stripe'> = {
  formats: ['json'],
  verify: verifyStripe,
  identify: (_headers, payload) => ({ eventId: fieldsOf(payload).id, eventType: fieldsOf(payload).type }),
};
