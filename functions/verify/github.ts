import { decodeHexSha256, hmacSha256, matchesAny } from './crypto.js';
import { SignatureVerificationError } from './errors.js';
import { signatureHeader } from './headers.js';
import type { Scheme, SignedRequest } from './types.js';

const PREFIX = 'sha256=';

/**
 * Verifies GitHub's `X-Hub-Signature-256: sha256=<hex>` header: HMAC-SHA256, keyed with the webhook secret,
 * over the raw body. The legacy SHA-1 `X-Hub-Signature` header is never accepted. GitHub signs no
 * timestamp: replays are stopped by the router's deduplication on `X-GitHub-Delivery`.
 *
 * Source: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 * @throws SignatureVerificationError
 */
export function verifyGithub(request: SignedRequest): void {
  const header = signatureHeader(request.headers, 'x-hub-signature-256');
  if (!header) throw new SignatureVerificationError('missing_signature');
  const signature = header.startsWith(PREFIX) ? decodeHexSha256(header.slice(PREFIX.length)) : undefined;
  if (!signature) throw new SignatureVerificationError('malformed_signature');

  const expected = request.secrets.map((secret) => hmacSha256(secret, request.body));
  if (!matchesAny(expected, [signature])) throw new SignatureVerificationError('signature_mismatch');
}

/** GitHub: JSON bodies; `X-GitHub-Delivery` and `X-GitHub-Event` (https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers). */
export const github: Scheme<'github'> = {
  formats: ['json'],
  verify: verifyGithub,
  identify: (headers) => ({
    eventId: headers.single('x-github-delivery'),
    eventType: headers.single('x-github-event'),
  }),
};
