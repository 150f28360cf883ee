import { checkTimestamp, decodeBase64Sha256, hmacSha256, matchesAny } from './crypto.js';
import { SignatureVerificationError } from './errors.js';
import { signatureHeader } from './headers.js';
import { MAX_SIGNATURE_HEADER_LENGTH, MAX_SIGNATURES_PER_HEADER, type SignedRequest } from './types.js';

const SECRET_PREFIX = 'whsec_';
const MESSAGE_ID = /^[^.\s]{1,256}$/;

/**
 * Verifies a Standard Webhooks v1 request: headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature` (space-separated `v1,<base64>` entries); HMAC-SHA256 over `"<id>.<timestamp>.<raw body>"`
 * keyed with the base64-decoded part of the `whsec_…` secret. Entries of other versions (`v1a`, …) are
 * ignored; the timestamp must be within the tolerance in both directions.
 *
 * Source: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 * @throws SignatureVerificationError
 */
export function verifyStandardWebhooks(request: SignedRequest): void {
  const id = signatureHeader(request.headers, 'webhook-id');
  const timestamp = signatureHeader(request.headers, 'webhook-timestamp');
  const header = signatureHeader(request.headers, 'webhook-signature');
  if (!id || !timestamp || !header) throw new SignatureVerificationError('missing_signature');
  if (!MESSAGE_ID.test(id) || header.length > MAX_SIGNATURE_HEADER_LENGTH) {
    throw new SignatureVerificationError('malformed_signature');
  }

  const signatures: Buffer[] = [];
  for (const entry of header.split(' ')) {
    const [version, value, ...rest] = entry.split(',');
    if (value === undefined || rest.length > 0) throw new SignatureVerificationError('malformed_signature');
    if (version !== 'v1') continue;
    const decoded = decodeBase64Sha256(value);
    if (!decoded) throw new SignatureVerificationError('malformed_signature');
    signatures.push(decoded);
  }
  if (signatures.length === 0) throw new SignatureVerificationError('missing_signature');
  if (signatures.length > MAX_SIGNATURES_PER_HEADER)
    throw new SignatureVerificationError('malformed_signature');
  checkTimestamp(timestamp, request.nowSeconds, request.toleranceSeconds);

  const expected = request.secrets.map((secret) =>
    hmacSha256(signingKey(secret), `${id}.${timestamp}.`, request.body),
  );
  if (!matchesAny(expected, signatures)) throw new SignatureVerificationError('signature_mismatch');
}

/** The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as in the reference libraries). */
function signingKey(secret: string): Buffer {
  return Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
}
