import type { HmacOptions, Locator } from '../sources.js';
import { checkTimestamp, decodeDigest, hmac, matchesAny } from './crypto.js';
import { SignatureVerificationError } from './errors.js';
import { type RequestHeaders, signatureHeader } from './headers.js';
import { fieldsOf, type Scheme, type SignedRequest } from './types.js';

const DIGEST_BYTES = { sha256: 32, sha512: 64 } as const;
const PLACEHOLDER = /(\{timestamp\}|\{body\})/;

/**
 * Verifies a vendor without a preset that signs with HMAC, as its source's options describe it:
 * - `signatureHeader` holds `prefix` (exactly; none when no prefix is set) followed by one digest of
 *   `algorithm` (SHA-256 or SHA-512) in `encoding`: lowercase hex (64 / 128 characters) or padded standard
 *   base64 (44 / 88 characters), in its one canonical spelling;
 * - when `timestampHeader` is set, that header is required and holds Unix seconds (9–10 digits) within the
 *   tolerance in both directions;
 * - the signed message is the `message` template with `{timestamp}` and `{body}` replaced, the body as the
 *   raw bytes received (default `{body}`, or `{timestamp}.{body}` with a timestamp header); the key is the
 *   secret's UTF-8 bytes, and every active secret is tried.
 *
 * @throws SignatureVerificationError
 * @throws Error when the template uses `{timestamp}` but no `timestampHeader` is set (a configuration error:
 *   the source fails closed)
 */
export function verifyHmac(request: SignedRequest, options: HmacOptions): void {
  const template = messageTemplate(options);
  const header = signatureHeader(request.headers, options.signatureHeader);
  const timestamp = options.timestampHeader
    ? signatureHeader(request.headers, options.timestampHeader)
    : undefined;
  if (!header || (options.timestampHeader && !timestamp)) {
    throw new SignatureVerificationError('missing_signature');
  }
  const prefix = options.prefix ?? '';
  const signature = header.startsWith(prefix)
    ? decodeDigest(header.slice(prefix.length), options.encoding, DIGEST_BYTES[options.algorithm])
    : undefined;
  if (!signature) throw new SignatureVerificationError('malformed_signature');
  if (timestamp !== undefined) checkTimestamp(timestamp, request.nowSeconds, request.toleranceSeconds);

  const message = template.map((part) =>
    part === '{body}' ? request.body : part === '{timestamp}' ? (timestamp ?? '') : part,
  );
  const expected = request.secrets.map((secret) => hmac(options.algorithm, secret, ...message));
  if (!matchesAny(expected, [signature])) throw new SignatureVerificationError('signature_mismatch');
}

/** The signed message's template split into literal text and `{timestamp}` / `{body}` placeholders. */
function messageTemplate(options: HmacOptions): string[] {
  const template = options.message ?? (options.timestampHeader ? '{timestamp}.{body}' : '{body}');
  const parts = template.split(PLACEHOLDER).filter((part) => part !== '');
  if (parts.includes('{timestamp}') && !options.timestampHeader) {
    throw new Error('the hmac message template uses {timestamp} but no timestampHeader is set');
  }
  return parts;
}

/**
 * The value a locator points at: a header (one value), or a field of the JSON body by dotted path (own
 * properties only). A safe integer is given as its decimal text, since many vendors number their events.
 */
export function locate(locator: Locator, headers: RequestHeaders, payload: unknown): unknown {
  if ('header' in locator) return headers.single(locator.header);
  let value: unknown = payload;
  for (const key of locator.field.split('.')) {
    const fields = fieldsOf(value);
    value = Object.hasOwn(fields, key) ? fields[key] : undefined;
  }
  return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
}

/** Generic HMAC: JSON bodies; the event id and type where the source's locators say (or a fixed type). */
export const hmacScheme: Scheme<'hmac'> = {
  formats: ['json'],
  verify: verifyHmac,
  identify: (headers, payload, options) => ({
    eventId: locate(options.eventId, headers, payload),
    eventType:
      'value' in options.eventType ? options.eventType.value : locate(options.eventType, headers, payload),
  }),
};
