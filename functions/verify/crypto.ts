import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureVerificationError } from './errors.js';

const HEX = /^[0-9a-f]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const UNIX_SECONDS = /^\d{9,10}$/;

/** How a vendor writes a digest or a signature: lowercase hex, or padded standard base64. */
export type DigestEncoding = 'hex' | 'base64';

/** HMAC of the concatenated parts. Strings are UTF-8; Buffers are taken as bytes. */
export function hmac(
  algorithm: 'sha1' | 'sha256' | 'sha512',
  key: string | Buffer,
  ...parts: (string | Buffer)[]
): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** HMAC-SHA256 of the concatenated parts. Strings are UTF-8; Buffers are taken as bytes. */
export function hmacSha256(key: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  return hmac('sha256', key, ...parts);
}

/**
 * Decodes `bytes` bytes written in `encoding`, or returns `undefined` unless the text is the one canonical
 * spelling of those bytes: lowercase hex of exactly `2 × bytes` characters, or standard base64 with its
 * padding and zero unused bits. Node's own decoders stop silently at the first bad character and ignore
 * junk, whitespace, the URL-safe alphabet and stray bits, so the text is checked before and after decoding.
 */
export function decodeDigest(text: string, encoding: DigestEncoding, bytes: number): Buffer | undefined {
  const length = encoding === 'hex' ? 2 * bytes : 4 * Math.ceil(bytes / 3);
  if (text.length !== length || !(encoding === 'hex' ? HEX : BASE64).test(text)) return undefined;
  const decoded = Buffer.from(text, encoding);
  return decoded.length === bytes && decoded.toString(encoding) === text ? decoded : undefined;
}

/**
 * Decodes a SHA-256 signature given as 64 lowercase hex characters, or returns `undefined` when the shape is
 * wrong. Node's own decoder stops silently at the first bad character, so the shape is checked first.
 */
export function decodeHexSha256(text: string): Buffer | undefined {
  return decodeDigest(text, 'hex', 32);
}

/** Decodes a SHA-256 signature given as 44 characters of canonical padded standard base64, or returns `undefined`. */
export function decodeBase64Sha256(text: string): Buffer | undefined {
  return decodeDigest(text, 'base64', 32);
}

/**
 * True when `expected` equals any candidate. Every pair of equal length is compared in constant time (all
 * pairs, no early exit); the lengths are fixed by the algorithm, so comparing them leaks nothing.
 */
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
