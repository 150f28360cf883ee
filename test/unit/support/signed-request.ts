/** Builds the `SignedRequest` a verifier takes, from plain header values. */
import { RequestHeaders, type SignedRequest } from '../../../functions/verify/index.js';

/** 2025-11-21T12:00:00Z, Unix seconds: the "now" of the verifier tests. */
export const NOW_SECONDS = 1_763_726_400;
export const TOLERANCE_SECONDS = 300;

export function signedRequest(
  headers: Record<string, string | string[]>,
  body: string | Buffer,
  secrets: readonly string[],
  nowSeconds = NOW_SECONDS,
  query?: Record<string, string>,
): SignedRequest {
  return {
    headers: new RequestHeaders(
      Object.fromEntries(
        Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value : [value]]),
      ),
    ),
    body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
    secrets,
    nowSeconds,
    toleranceSeconds: TOLERANCE_SECONDS,
    ...(query ? { query } : {}),
  };
}

/** Runs `verify` and returns the failure reason it threw, or `'accepted'` when it returned normally. */
export function outcome(verify: (request: SignedRequest) => void, request: SignedRequest): string {
  try {
    verify(request);
    return 'accepted';
  } catch (error) {
    if (error instanceof Error && error.name === 'SignatureVerificationError') {
      return (error as Error & { reason: string }).reason;
    }
    throw error;
  }
}

/** The same bytes with one byte changed (XOR with a non-zero mask). */
export function mutateByte(bytes: Buffer, index: number, mask: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[index % copy.length] = (copy[index % copy.length] ?? 0) ^ mask;
  return copy;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The same bytes in padded base64 with an unused low bit of the last character set: a non-canonical
 * spelling that Node decodes to the very same bytes.
 */
export function nonCanonicalBase64(base64: string): string {
  const last = base64.replace(/=+$/, '').length - 1;
  const index = BASE64_ALPHABET.indexOf(base64.charAt(last));
  if (!base64.endsWith('=') || index < 0) throw new Error('only padded base64 has unused bits');
  return `${base64.slice(0, last)}${BASE64_ALPHABET[index | 1]}${base64.slice(last + 1)}`;
}
