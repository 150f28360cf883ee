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
