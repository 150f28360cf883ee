import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkTimestamp,
  decodeBase64Sha256,
  decodeHexSha256,
  hmacSha256,
  matchesAny,
} from '../../functions/verify/crypto.js';
import { SignatureVerificationError } from '../../functions/verify/index.js';

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
