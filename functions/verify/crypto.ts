import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureVerificationError } from './errors.js';

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;
const UNIX_SECONDS = /^\d{9,10}$/;

/** HMAC-SHA256 of the concatenated parts. Strings are UTF-8; Buffers are taken as bytes. */
export function hmacSha256(key: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Decodes a SHA-256 signature given as 64 lowercase hex characters, or returns `undefined` when the shape is
 * wrong. Node's own decoder stops silently at the first bad character, so the shape is checked first.
 */
export function decodeHexSha256(text: string): Buffer | undefined {
  return HEX_SHA256.test(text) ? Buffer.from(text, 'hex') : undefined;
}

/** Decodes a SHA-256 signature given as 44 characters of padded standard base64, or returns `undefined`. */
export function decodeBase64Sha256(text: string): Buffer | undefined {
  return BASE64_SHA256.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** True when `expected` equals any candidate, comparing 32-byte values in constant time. */
export function matchesAny(expected: readonly Buffer[], candidates: readonly Buffer[]): boolean {
  let matched = false;
  for (const want of expected) {
    for (const got of candidates) {
      if (got.length === want.length && timingSafeEqual(got, want)) matched = true;
    }
  }
  return matched;
}

/**
 * Parses a Unix timestamp in seconds (9–10 digits, nothing else) and checks it is within `toleranceSeconds`
 * of `nowSeconds`, in the past or in the future.
 * @throws SignatureVerificationError `malformed_signature` for a bad shape, `stale_timestamp` outside the window.
 */
export function checkTimestamp(text: string, nowSeconds: number, toleranceSeconds: number): void {
  if (!UNIX_SECONDS.test(text)) throw new SignatureVerificationError('malformed_signature');
  if (Math.abs(nowSeconds - Number(text)) > toleranceSeconds) {
    throw new SignatureVerificationError('stale_timestamp');
  }
}
