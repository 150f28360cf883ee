import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkTimestamp,
  decodeBase64Sha256,
  decodeDigest,
  decodeHexSha256,
  hmac,
  hmacSha256,
  matchesAny,
} from '../../functions/verify/crypto.js';
import { SignatureVerificationError } from '../../functions/verify/index.js';
import { nonCanonicalBase64 } from './support/signed-request.js';

const DIGEST = createHmac('sha256', 'key').update('message').digest();

function reasonOf(run: () => void): string {
  try {
    run();
    return 'passed';
  } catch (error) {
    if (!(error instanceof SignatureVerificationError)) throw error;
    return error.reason;
  }
}

describe('hmacSha256', () => {
  it('hashes the concatenation of string and byte parts', () => {
    // Act
    const digest = hmacSha256('key', 'mes', Buffer.from('sage'));

    // Assess
    expect(digest.equals(DIGEST)).toBe(true);
  });
});

describe('hmac', () => {
  it.each(['sha1', 'sha256', 'sha512'] as const)(
    'computes HMAC-%s of the concatenated parts',
    (algorithm) => {
      // Act
      const digest = hmac(algorithm, 'key', 'mes', Buffer.from('sage'));

      // Assess
      expect(digest.equals(createHmac(algorithm, 'key').update('message').digest())).toBe(true);
    },
  );
});

describe('decodeDigest', () => {
  const sha1 = createHmac('sha1', 'key').update('message').digest();
  const sha512 = createHmac('sha512', 'key').update('message').digest();

  it.each([
    ['a SHA-1 digest in base64 (28 characters)', sha1, 'base64'],
    ['a SHA-1 digest in hex (40 characters)', sha1, 'hex'],
    ['a SHA-512 digest in base64 (88 characters)', sha512, 'base64'],
    ['a SHA-512 digest in hex (128 characters)', sha512, 'hex'],
  ] as const)('decodes %s', (_, digest, encoding) => {
    // Act
    const decoded = decodeDigest(digest.toString(encoding), encoding, digest.length);

    // Assess
    expect(decoded?.equals(digest)).toBe(true);
  });

  it.each([
    ['a SHA-1 digest with an unused bit set', nonCanonicalBase64(sha1.toString('base64')), 20],
    ['a SHA-256 digest with an unused bit set', nonCanonicalBase64(DIGEST.toString('base64')), 32],
    ['a SHA-512 digest with an unused bit set', nonCanonicalBase64(sha512.toString('base64')), 64],
    ['a SHA-256 digest where SHA-512 is expected', DIGEST.toString('base64'), 64],
    ['one padding character too many', `${sha1.toString('base64').slice(0, 27)}==`, 20],
    [
      'padding in the middle',
      `${sha1.toString('base64').slice(0, 10)}=${sha1.toString('base64').slice(11)}`,
      20,
    ],
  ])('answers undefined for the base64 of %s', (_, text, bytes) => {
    // Act
    const decoded = decodeDigest(text, 'base64', bytes);

    // Assess
    expect(Buffer.from(text, 'base64').length).toBeGreaterThan(0);
    expect(decoded).toBeUndefined();
  });
});

describe('decodeHexSha256', () => {
  it('decodes 64 lowercase hex characters to 32 bytes', () => {
    // Act
    const decoded = decodeHexSha256(DIGEST.toString('hex'));

    // Assess
    expect(decoded?.equals(DIGEST)).toBe(true);
  });

  it.each([
    ['uppercase', DIGEST.toString('hex').toUpperCase()],
    ['truncated', DIGEST.toString('hex').slice(0, 62)],
    ['junk a lenient decoder would stop at', `${DIGEST.toString('hex').slice(0, 60)}abzz`],
    ['a trailing newline', `${DIGEST.toString('hex')}\n`],
    ['an odd length', `${DIGEST.toString('hex')}0`],
    ['empty', ''],
  ])('answers undefined for %s text', (_, text) => {
    // Act
    const decoded = decodeHexSha256(text);

    // Assess
    expect(decoded).toBeUndefined();
  });
});

describe('decodeBase64Sha256', () => {
  it('decodes 44 characters of padded base64 to 32 bytes', () => {
    // Act
    const decoded = decodeBase64Sha256(DIGEST.toString('base64'));

    // Assess
    expect(decoded?.equals(DIGEST)).toBe(true);
  });

  it.each([
    ['unpadded', DIGEST.toString('base64').replace(/=$/, '')],
    ['base64url', DIGEST.toString('base64url')],
    ['with junk after it', `${DIGEST.toString('base64')}AA==`],
    ['non-canonical (an unused bit set)', nonCanonicalBase64(DIGEST.toString('base64'))],
    ['a trailing newline', `${DIGEST.toString('base64')}\n`],
    ['hex', DIGEST.toString('hex')],
  ])('answers undefined for %s text', (_, text) => {
    // Act
    const decoded = decodeBase64Sha256(text);

    // Assess
    expect(decoded).toBeUndefined();
  });
});

describe('matchesAny', () => {
  it('is true when any candidate equals any expected value, and false otherwise', () => {
    // Prepare
    const other = createHmac('sha256', 'other').update('message').digest();
    const lastByteFlipped = Buffer.from(DIGEST);
    lastByteFlipped[31] = (lastByteFlipped[31] ?? 0) ^ 1;

    // Act
    const results = [
      matchesAny([other, DIGEST], [Buffer.alloc(32), DIGEST]),
      matchesAny([other], [DIGEST]),
      matchesAny([DIGEST], [DIGEST.subarray(0, 16)]),
      matchesAny([DIGEST], []),
      matchesAny([DIGEST], [lastByteFlipped]),
    ];

    // Assess
    expect(results).toEqual([true, false, false, false, false]);
  });
});

describe('checkTimestamp', () => {
  const now = 1_763_726_400;

  it.each([
    ['now', String(now), 'passed'],
    ['exactly the tolerance in the past', String(now - 300), 'passed'],
    ['exactly the tolerance in the future', String(now + 300), 'passed'],
    ['one second past the tolerance in the past', String(now - 301), 'stale_timestamp'],
    ['one second past the tolerance in the future', String(now + 301), 'stale_timestamp'],
    ['9 digits (2001 and before)', '999999999', 'stale_timestamp'],
    ['8 digits', '99999999', 'malformed_signature'],
    ['13 digits (milliseconds)', `${now}000`, 'malformed_signature'],
    ['a sign', `+${now}`, 'malformed_signature'],
    ['a fraction', `${now}.0`, 'malformed_signature'],
    ['spaces', ` ${now}`, 'malformed_signature'],
    ['non-ASCII digits', '١٧٦٣٧٢٦٤٠٠', 'malformed_signature'],
  ])('answers a timestamp of %s with %s', (_, text, expected) => {
    // Act
    const result = reasonOf(() => checkTimestamp(text, now, 300));

    // Assess
    expect(result).toBe(expected);
  });
});
