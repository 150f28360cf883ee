import { createPublicKey, type KeyObject, verify as verifySignatureBytes } from 'node:crypto';
import { checkTimestamp, decodeDigest, hmacSha256, matchesAny } from './crypto.js';
import { SignatureVerificationError } from './errors.js';
import { signatureHeader } from './headers.js';
import {
  fieldsOf,
  MAX_SIGNATURE_HEADER_LENGTH,
  MAX_SIGNATURES_PER_HEADER,
  type Scheme,
  type SignedRequest,
} from './types.js';

const SECRET_PREFIX = 'whsec_';
const PUBLIC_KEY_PREFIX = 'whpk_';
const PRIVATE_KEY_PREFIX = 'whsk_';
const MESSAGE_ID = /^[^.\s]{1,256}$/;
const SYMMETRIC_KEY = /^[A-Za-z0-9+/]+={0,2}$/;
const MIN_SYMMETRIC_KEY_BYTES = 16;
/** DER of an Ed25519 SubjectPublicKeyInfo up to the 32 key bytes (RFC 8410 §4). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_PUBLIC_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

/** A source's verification key: an HMAC key (`v1` entries) or an Ed25519 public key (`v1a` entries). */
type VerificationKey = { version: 'v1'; key: Buffer } | { version: 'v1a'; key: KeyObject };

/**
 * Verifies a Standard Webhooks request: headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature` (space-separated `<version>,<base64>` entries) over `"<id>.<timestamp>.<raw body>"`.
 * - A `whsec_<base64>` secret (or bare base64) is an HMAC-SHA256 key and verifies `v1` entries (32 bytes).
 * - A `whpk_<base64 of 32 bytes>` secret is an Ed25519 public key and verifies `v1a` entries (64 bytes).
 * An entry of a version no configured secret can verify does not count (no downgrade from asymmetric to
 * symmetric or back); other versions are ignored; at most five entries per version. The timestamp must be
 * within the tolerance in both directions.
 *
 * Source: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 * (Signature scheme; symmetric and asymmetric signatures)
 * @throws SignatureVerificationError
 * @throws Error when a secret is a `whsk_` private key, a malformed `whpk_` public key, or a `whsec_` secret
 *   that is not base64 of at least 16 bytes (a configuration error: the source fails closed)
 */
export function verifyStandardWebhooks(request: SignedRequest): void {
  const keys = request.secrets.map(verificationKey);
  const id = signatureHeader(request.headers, 'webhook-id');
  const timestamp = signatureHeader(request.headers, 'webhook-timestamp');
  const header = signatureHeader(request.headers, 'webhook-signature');
  if (!id || !timestamp || !header) throw new SignatureVerificationError('missing_signature');
  if (!MESSAGE_ID.test(id) || header.length > MAX_SIGNATURE_HEADER_LENGTH) {
    throw new SignatureVerificationError('malformed_signature');
  }

  const signatures = { v1: [] as Buffer[], v1a: [] as Buffer[] };
  for (const entry of header.split(' ')) {
    const [version, value, ...rest] = entry.split(',');
    if (value === undefined || rest.length > 0) throw new SignatureVerificationError('malformed_signature');
    if (version !== 'v1' && version !== 'v1a') continue;
    const decoded = decodeDigest(value, 'base64', version === 'v1' ? 32 : ED25519_SIGNATURE_BYTES);
    if (!decoded) throw new SignatureVerificationError('malformed_signature');
    signatures[version].push(decoded);
  }
  if (signatures.v1.length > MAX_SIGNATURES_PER_HEADER || signatures.v1a.length > MAX_SIGNATURES_PER_HEADER) {
    throw new SignatureVerificationError('malformed_signature');
  }
  if (!keys.some((key) => signatures[key.version].length > 0)) {
    throw new SignatureVerificationError('missing_signature');
  }
  checkTimestamp(timestamp, request.nowSeconds, request.toleranceSeconds);

  const prefix = `${id}.${timestamp}.`;
  // HMAC takes the message in parts; only Ed25519 needs it whole, so only then is the body copied.
  let signed: Buffer | undefined;
  let matched = false;
  for (const { version, key } of keys) {
    if (version === 'v1') {
      if (matchesAny([hmacSha256(key, prefix, request.body)], signatures.v1)) matched = true;
    } else {
      signed ??= Buffer.concat([Buffer.from(prefix, 'utf8'), request.body]);
      for (const signature of signatures.v1a) {
        if (verifiesEd25519(key, signed, signature)) matched = true;
      }
    }
  }
  if (!matched) throw new SignatureVerificationError('signature_mismatch');
}

/** Ed25519 verification (RFC 8032; OpenSSL rejects non-canonical signatures); false for any failure. */
function verifiesEd25519(key: KeyObject, signed: Buffer, signature: Buffer): boolean {
  try {
    return verifySignatureBytes(null, signed, key, signature);
  } catch {
    return false;
  }
}

const publicKeys = new Map<string, KeyObject>();

function verificationKey(secret: string): VerificationKey {
  if (secret.startsWith(PRIVATE_KEY_PREFIX)) {
    throw new Error('a whsk_ private key is configured: the hub needs only the whpk_ public key');
  }
  if (!secret.startsWith(PUBLIC_KEY_PREFIX)) return { version: 'v1', key: signingKey(secret) };
  let key = publicKeys.get(secret);
  if (!key) {
    const raw = decodeDigest(secret.slice(PUBLIC_KEY_PREFIX.length), 'base64', ED25519_PUBLIC_KEY_BYTES);
    if (!raw) throw new Error('a whpk_ key must be the base64 of a 32-byte Ed25519 public key');
    try {
      key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    } catch {
      throw new Error('a whpk_ key is not a valid Ed25519 public key');
    }
    // A handful of sources, each with one or two keys: a small cache avoids re-parsing on every request.
    if (publicKeys.size >= 64) publicKeys.clear();
    publicKeys.set(secret, key);
  }
  return { version: 'v1a', key };
}

/**
 * The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as in the reference libraries). Node's
 * lenient decoder turns `whsec_` or junk into an empty or short key anyone could sign with, so the text must
 * be standard base64 of at least 16 bytes (the spec issues 24 to 64).
 */
function signingKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = SYMMETRIC_KEY.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (key.length < MIN_SYMMETRIC_KEY_BYTES) {
    throw new Error('a whsec_ secret must be the base64 of at least 16 random bytes');
  }
  return key;
}

/** Standard Webhooks: JSON bodies; `webhook-id` and the payload's `type` (the spec's recommended envelope). */
export const standardWebhooks: Scheme<'standard-webhooks'> = {
  formats: ['json'],
  verify: verifyStandardWebhooks,
  identify: (headers, payload) => ({
    eventId: headers.single('webhook-id'),
    eventType: fieldsOf(payload).type,
  }),
};
