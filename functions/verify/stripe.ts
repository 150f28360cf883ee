import { checkTimestamp, decodeHexSha256, hmacSha256, matchesAny } from './crypto.js';
import { SignatureVerificationError } from './errors.js';
import { signatureHeader } from './headers.js';
import { MAX_SIGNATURE_HEADER_LENGTH, MAX_SIGNATURES_PER_HEADER, type SignedRequest } from './types.js';

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
    if (separator <= 0) throw new SignatureVerificationError('malformed_signature');
    const key = item.slice(0, separator);
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
