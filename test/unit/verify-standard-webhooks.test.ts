import { createHmac, randomBytes, sign as signBytes } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SignatureVerificationError } from '../../functions/verify/index.js';
import { verifyStandardWebhooks } from '../../functions/verify/standard-webhooks.js';
import { fixtureText } from './support/lambda.js';
import {
  mutateByte,
  NOW_SECONDS,
  nonCanonicalBase64,
  outcome,
  signedRequest,
} from './support/signed-request.js';
import { ed25519Pair, v1aEntry } from './support/vendor-signing.js';

const SECRET = `whsec_${Buffer.alloc(32, 0x5a).toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(24, 0x3c).toString('base64')}`;
const MESSAGE_ID = 'msg_2pQz8Yb3mKp9QwErTyUiOp';
const PAYLOAD = fixtureText('crm/contact.created.json');
/** A well-formed `v1a` (asymmetric, ed25519) entry: 64 bytes of base64. */
const V1A_ENTRY = `v1a,${randomBytes(64).toString('base64')}`;

/** The `v1,<base64>` entry the reference library makes. */
function sign(payload: string, secret = SECRET, timestamp = NOW_SECONDS, id = MESSAGE_ID): string {
  return new Webhook(secret).sign(id, new Date(timestamp * 1000), payload);
}

function headers(signature: string | string[], timestamp: string | number = NOW_SECONDS, id = MESSAGE_ID) {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

const verify = (
  requestHeaders: Record<string, string | string[]>,
  payload: string | Buffer = PAYLOAD,
  secrets = [SECRET],
) => outcome(verifyStandardWebhooks, signedRequest(requestHeaders, payload, secrets));

describe('verifyStandardWebhooks', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW_SECONDS * 1000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('accepts a request signed by the standardwebhooks library', () => {
    // Act
    const result = verify(headers(sign(PAYLOAD)));

    // Assess
    expect(result).toBe('accepted');
  });

  it('accepts a header of several v1 entries when any one matches, and ignores a v1a entry', () => {
    // Prepare
    const header = [V1A_ENTRY, sign(PAYLOAD, OTHER_SECRET), sign(PAYLOAD, SECRET)].join(' ');

    // Act
    const withSecret = verify(headers(header), PAYLOAD, [SECRET]);
    const withOtherSecret = verify(headers(header), PAYLOAD, [OTHER_SECRET]);
    const withNeither = verify(headers(header), PAYLOAD, [`whsec_${Buffer.alloc(32, 1).toString('base64')}`]);

    // Assess
    expect([withSecret, withOtherSecret, withNeither]).toEqual([
      'accepted',
      'accepted',
      'signature_mismatch',
    ]);
  });

  it('does not accept a header that holds only a v1a entry', () => {
    // Act
    const result = verify(headers(V1A_ENTRY));

    // Assess
    expect(result).toBe('missing_signature');
  });

  it('accepts a request signed with either secret during a rotation overlap', () => {
    // Prepare
    const secrets = [SECRET, OTHER_SECRET];

    // Act
    const current = verify(headers(sign(PAYLOAD, SECRET)), PAYLOAD, secrets);
    const previous = verify(headers(sign(PAYLOAD, OTHER_SECRET)), PAYLOAD, secrets);

    // Assess
    expect([current, previous]).toEqual(['accepted', 'accepted']);
  });

  it('keys the HMAC with the base64-decoded secret, with or without the whsec_ prefix', () => {
    // Prepare
    const key = Buffer.alloc(32, 0x5a);
    const manual = createHmac('sha256', key)
      .update(`${MESSAGE_ID}.${NOW_SECONDS}.${PAYLOAD}`)
      .digest('base64');

    // Act
    const prefixed = verify(headers(`v1,${manual}`), PAYLOAD, [SECRET]);
    const bare = verify(headers(`v1,${manual}`), PAYLOAD, [key.toString('base64')]);

    // Assess
    expect(sign(PAYLOAD)).toBe(`v1,${manual}`);
    expect([prefixed, bare]).toEqual(['accepted', 'accepted']);
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])(
    'rejects a request without %s as missing_signature',
    (name) => {
      // Prepare
      const { [name as 'webhook-id']: _, ...rest } = headers(sign(PAYLOAD));

      // Act
      const absent = verify(rest);
      const empty = verify({ ...rest, [name]: '' });

      // Assess
      expect([absent, empty]).toEqual(['missing_signature', 'missing_signature']);
    },
  );

  it('rejects a tampered body as signature_mismatch', () => {
    // Prepare
    const tampered = PAYLOAD.replace('katherine.johnson@example.com', 'mallory@example.com');

    // Act
    const result = verify(headers(sign(PAYLOAD)), tampered);

    // Assess
    expect(tampered).not.toBe(PAYLOAD);
    expect(result).toBe('signature_mismatch');
  });

  it('rejects a request signed with another secret as signature_mismatch', () => {
    // Act
    const result = verify(headers(sign(PAYLOAD, OTHER_SECRET)), PAYLOAD, [SECRET]);

    // Assess
    expect(result).toBe('signature_mismatch');
  });

  it('rejects a signature moved to another message id or timestamp as signature_mismatch', () => {
    // Prepare
    const signature = sign(PAYLOAD);

    // Act
    const otherId = verify(headers(signature, NOW_SECONDS, 'msg_other'));
    const otherTimestamp = verify(headers(signature, NOW_SECONDS - 1));

    // Assess
    expect([otherId, otherTimestamp]).toEqual(['signature_mismatch', 'signature_mismatch']);
  });

  it.each([
    ['301 s in the past', -301, 'stale_timestamp'],
    ['301 s in the future', 301, 'stale_timestamp'],
    ['299 s in the past', -299, 'accepted'],
    ['299 s in the future', 299, 'accepted'],
    ['300 s in the future', 300, 'accepted'],
  ])('answers a timestamp %s with %s', (_, offset, expected) => {
    // Prepare
    const timestamp = NOW_SECONDS + offset;

    // Act
    const result = verify(headers(sign(PAYLOAD, SECRET, timestamp), timestamp));

    // Assess
    expect(result).toBe(expected);
  });

  const valid = sign(PAYLOAD).slice('v1,'.length);
  it.each([
    ['base64 without padding', headers(`v1,${valid.replace(/=$/, '')}`)],
    ['truncated base64', headers(`v1,${valid.slice(0, 40)}=`)],
    ['junk after the base64', headers(`v1,${valid}zz`)],
    ['base64url characters', headers(`v1,${valid.slice(0, 42).replace(/./, '-')}_=`)],
    ['an empty v1 value', headers('v1,')],
    ['an entry without a comma', headers(`v1${valid}`)],
    ['an entry with two commas', headers(`v1,${valid},x`)],
    ['a non-numeric timestamp', headers(sign(PAYLOAD), '17637264OO')],
    [
      'a 13-digit (milliseconds) timestamp',
      headers(sign(PAYLOAD, SECRET, NOW_SECONDS * 1000), NOW_SECONDS * 1000),
    ],
    ['a timestamp with a fraction', headers(sign(PAYLOAD), `${NOW_SECONDS}.5`)],
    ['a message id with a dot', headers(sign(PAYLOAD, SECRET, NOW_SECONDS, 'msg.1'), NOW_SECONDS, 'msg.1')],
    ['a message id with a space', headers(sign(PAYLOAD, SECRET, NOW_SECONDS, 'msg 1'), NOW_SECONDS, 'msg 1')],
    [
      'a message id over 256 characters',
      headers(sign(PAYLOAD, SECRET, NOW_SECONDS, 'm'.repeat(257)), NOW_SECONDS, 'm'.repeat(257)),
    ],
  ])('rejects %s as malformed_signature', (_, requestHeaders) => {
    // Act
    const result = verify(requestHeaders);

    // Assess
    expect(result).toBe('malformed_signature');
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])(
    'rejects %s sent twice as duplicate_header, even when both copies are the same',
    (name) => {
      // Prepare
      const signed = headers(sign(PAYLOAD));
      const value = signed[name as keyof typeof signed];

      // Act
      const result = verify({ ...signed, [name]: [value, value] });

      // Assess
      expect(result).toBe('duplicate_header');
    },
  );

  it('rejects a signature header longer than 1024 characters, even with a valid signature in it', () => {
    // Prepare: a valid entry padded with entries of an unknown version, which are ignored
    const padded = (length: number) => {
      const base = `${sign(PAYLOAD)} v9,`;
      return `${base}${'x'.repeat(length - base.length)}`;
    };

    // Act
    const justFits = verify(headers(padded(1024)));
    const tooLong = verify(headers(padded(1025)));

    // Assess
    expect([padded(1024).length, padded(1025).length]).toEqual([1024, 1025]);
    expect(justFits).toBe('accepted');
    expect(tooLong).toBe('malformed_signature');
  });

  it('accepts up to five v1 signatures and rejects six, even when one is valid', () => {
    // Prepare
    const decoys = [1, 2, 3, 4, 5].map((seed) =>
      sign(PAYLOAD, `whsec_${Buffer.alloc(32, seed).toString('base64')}`),
    );

    // Act
    const five = verify(headers([...decoys.slice(0, 4), sign(PAYLOAD)].join(' ')));
    const six = verify(headers([...decoys, sign(PAYLOAD)].join(' ')));
    const fiveWithV1a = verify(headers([...decoys.slice(0, 4), V1A_ENTRY, sign(PAYLOAD)].join(' ')));

    // Assess
    expect([five, six, fiveWithV1a]).toEqual(['accepted', 'malformed_signature', 'accepted']);
  });

  it('rejects any single-byte change of a validly signed body (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (payload, index, mask) => {
          // Prepare
          const signed = headers(sign(payload));
          const mutated = mutateByte(Buffer.from(payload, 'utf8'), index, mask);

          // Act
          const result = verify(signed, mutated);

          // Assess
          expect(verify(signed, payload)).toBe('accepted');
          expect(result).toBe('signature_mismatch');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws nothing but SignatureVerificationError for arbitrary header values and bodies (property)', () => {
    const base64ish = fc.string({ unit: fc.constantFrom(...'AZaz09+/=-_ '), minLength: 40, maxLength: 46 });
    const entry = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc
        .tuple(fc.constantFrom('v1', 'v1a', 'v2', ''), fc.oneof(fc.string({ maxLength: 50 }), base64ish))
        .map(([version, value]) => `${version},${value}`),
    );
    const values = (item: fc.Arbitrary<string>) => fc.array(item, { maxLength: 2 });
    fc.assert(
      fc.property(
        values(fc.oneof(fc.string({ maxLength: 20 }), fc.constant(MESSAGE_ID))),
        values(
          fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: 0, max: 2 * NOW_SECONDS }).map(String)),
        ),
        values(fc.array(entry, { maxLength: 7 }).map((entries) => entries.join(' '))),
        fc.uint8Array({ maxLength: 64 }),
        (id, timestamp, signature, body) => {
          // Act
          let thrown: unknown;
          try {
            verifyStandardWebhooks(
              signedRequest(
                { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature },
                Buffer.from(body),
                [SECRET],
              ),
            );
          } catch (error) {
            thrown = error;
          }

          // Assess
          expect(thrown).toBeInstanceOf(SignatureVerificationError);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('verifyStandardWebhooks with a misconfigured symmetric secret', () => {
  it.each([
    ['only the whsec_ prefix', 'whsec_'],
    ['base64url characters', `whsec_${'-_'.repeat(16)}`],
    ['junk', 'whsec_!!!!not base64!!!!'],
    ['a key of 15 bytes', `whsec_${Buffer.alloc(15, 1).toString('base64')}`],
  ])(
    'fails closed with a configuration error for %s, instead of keying the HMAC with what is left',
    (_, secret) => {
      // Prepare: what an attacker can sign when the key decodes to nothing
      const forged = `v1,${createHmac('sha256', Buffer.alloc(0)).update(`${MESSAGE_ID}.${NOW_SECONDS}.${PAYLOAD}`).digest('base64')}`;

      // Act
      const run = () => verifyStandardWebhooks(signedRequest(headers(forged), PAYLOAD, [secret]));

      // Assess
      expect(run).toThrow('at least 16 random bytes');
      expect(run).not.toThrow(SignatureVerificationError);
    },
  );
});

describe('verifyStandardWebhooks cross-checked with the standardwebhooks library', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW_SECONDS * 1000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('accepts every request the library accepts (property)', () => {
    const secret = fc
      .uint8Array({ minLength: 16, maxLength: 64 })
      .map((key) => `whsec_${Buffer.from(key).toString('base64')}`);
    fc.assert(
      fc.property(
        fc
          .string({ unit: 'grapheme', maxLength: 200 })
          .map((text) => JSON.stringify({ type: 'contact.updated', text })),
        secret,
        secret,
        fc.stringMatching(/^msg_[A-Za-z0-9_-]{1,40}$/),
        fc.integer({ min: -300, max: 300 }),
        fc.boolean(),
        (payload, ourSecret, decoySecret, id, offset, withDecoys) => {
          // Prepare
          const timestamp = NOW_SECONDS + offset;
          const valid = sign(payload, ourSecret, timestamp, id);
          const entries = withDecoys
            ? [V1A_ENTRY, sign(payload, decoySecret, timestamp, id), valid]
            : [valid];
          const requestHeaders = { ...headers('', timestamp, id), 'webhook-signature': entries.join(' ') };
          const theirs = () => new Webhook(ourSecret).verify(payload, requestHeaders);

          // Act
          const ours = verify(requestHeaders, payload, [ourSecret]);

          // Assess
          expect(theirs).not.toThrow();
          expect(ours).toBe('accepted');
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('verifyStandardWebhooks with Ed25519 public keys (v1a)', () => {
  const pair = ed25519Pair();
  const other = ed25519Pair();
  const signA = (payload: string | Buffer = PAYLOAD, key = pair, timestamp = NOW_SECONDS, id = MESSAGE_ID) =>
    v1aEntry(key.privateKey, id, timestamp, payload);

  it('accepts a v1a entry made with the private key of a configured whpk_ public key', () => {
    // Act
    const result = verify(headers(signA()), PAYLOAD, [pair.verifying]);

    // Assess
    expect(result).toBe('accepted');
  });

  it('signs "<id>.<timestamp>.<raw body>" with Ed25519 (RFC 8032), base64 encoded', () => {
    // Prepare
    const signature = signBytes(
      null,
      Buffer.from(`${MESSAGE_ID}.${NOW_SECONDS}.${PAYLOAD}`),
      pair.privateKey,
    );

    // Act
    const result = verify(headers(`v1a,${signature.toString('base64')}`), PAYLOAD, [pair.verifying]);

    // Assess
    expect(signature).toHaveLength(64);
    expect(result).toBe('accepted');
  });

  it('accepts either public key during a rotation, and one valid entry among several', () => {
    // Prepare
    const keys = [pair.verifying, other.verifying];
    const both = [signA(PAYLOAD, ed25519Pair()), signA(PAYLOAD, other), signA(PAYLOAD, pair)].join(' ');

    // Act
    const current = verify(headers(signA(PAYLOAD, pair)), PAYLOAD, keys);
    const previous = verify(headers(signA(PAYLOAD, other)), PAYLOAD, keys);
    const several = verify(headers(both), PAYLOAD, [pair.verifying]);
    const retired = verify(headers(signA(PAYLOAD, other)), PAYLOAD, [pair.verifying]);

    // Assess
    expect([current, previous, several, retired]).toEqual([
      'accepted',
      'accepted',
      'accepted',
      'signature_mismatch',
    ]);
  });

  it('verifies v1 entries with whsec_ secrets and v1a entries with whpk_ keys when both are configured', () => {
    // Prepare
    const secrets = [SECRET, pair.verifying];

    // Act
    const symmetric = verify(headers(sign(PAYLOAD, SECRET)), PAYLOAD, secrets);
    const asymmetric = verify(headers(signA()), PAYLOAD, secrets);
    const mixed = verify(headers(`${sign(PAYLOAD, OTHER_SECRET)} ${signA()}`), PAYLOAD, secrets);

    // Assess
    expect([symmetric, asymmetric, mixed]).toEqual(['accepted', 'accepted', 'accepted']);
  });

  it('does not downgrade: a v1 HMAC keyed with the public key is not accepted with only a whpk_ key', () => {
    // Prepare: anyone can compute these, the public key being public
    const raw = Buffer.from(pair.verifying.slice('whpk_'.length), 'base64');
    const forged = [raw, Buffer.from(pair.verifying), Buffer.from(pair.verifying.slice(5))].map(
      (key) =>
        `v1,${createHmac('sha256', key).update(`${MESSAGE_ID}.${NOW_SECONDS}.${PAYLOAD}`).digest('base64')}`,
    );

    // Act
    const results = forged.map((entry) => verify(headers(entry), PAYLOAD, [pair.verifying]));
    const withV1a = verify(headers(`${forged.join(' ')} ${signA(PAYLOAD, other)}`), PAYLOAD, [
      pair.verifying,
    ]);

    // Assess
    expect(results).toEqual(['missing_signature', 'missing_signature', 'missing_signature']);
    expect(withV1a).toBe('signature_mismatch');
  });

  it('does not accept a v1a entry when only symmetric secrets are configured', () => {
    // Act
    const result = verify(headers(signA()), PAYLOAD, [SECRET, OTHER_SECRET]);

    // Assess
    expect(result).toBe('missing_signature');
  });

  it.each([
    ['another key pair', () => headers(signA(PAYLOAD, other)), PAYLOAD],
    ['a changed body', () => headers(signA()), PAYLOAD.replace('katherine', 'mallory')],
    ['an appended newline', () => headers(signA()), `${PAYLOAD}\n`],
    [
      'a body signed minified but sent pretty-printed',
      () => headers(signA()),
      JSON.stringify(JSON.parse(PAYLOAD), null, 4),
    ],
    ['another message id', () => headers(signA(), NOW_SECONDS, 'msg_other'), PAYLOAD],
    ['another timestamp', () => headers(signA(), NOW_SECONDS - 1), PAYLOAD],
  ])('rejects %s as signature_mismatch', (_, requestHeaders, payload) => {
    // Act
    const result = verify(requestHeaders(), payload, [pair.verifying]);

    // Assess
    expect(result).toBe('signature_mismatch');
  });

  it('rejects a malleated signature (S + L, same R) that a lenient Ed25519 verifier would accept', () => {
    // Prepare: the group order L of edwards25519, little-endian S
    const order = 2n ** 252n + 27742317777372353535851937790883648493n;
    const signature = Buffer.from(signA().slice('v1a,'.length), 'base64');
    const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`) + order;
    const malleated = Buffer.concat([
      signature.subarray(0, 32),
      Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse(),
    ]);

    // Act
    const result = verify(headers(`v1a,${malleated.toString('base64')}`), PAYLOAD, [pair.verifying]);

    // Assess
    expect(malleated.equals(signature)).toBe(false);
    expect(result).toBe('signature_mismatch');
  });

  it.each([
    ['301 s in the past', -301, 'stale_timestamp'],
    ['301 s in the future', 301, 'stale_timestamp'],
    ['299 s in the past', -299, 'accepted'],
    ['299 s in the future', 299, 'accepted'],
  ])('answers a v1a timestamp %s with %s', (_, offset, expected) => {
    // Prepare
    const timestamp = NOW_SECONDS + offset;

    // Act
    const result = verify(headers(signA(PAYLOAD, pair, timestamp), timestamp), PAYLOAD, [pair.verifying]);

    // Assess
    expect(result).toBe(expected);
  });

  const valid = signA().slice('v1a,'.length);
  it.each([
    ['87 base64 characters', `v1a,${valid.slice(0, 87)}`],
    ['base64 without padding', `v1a,${valid.replace(/=+$/, '')}`],
    ['base64url characters', `v1a,${valid.slice(0, 84)}-_==`],
    ['a non-canonical spelling of the right bytes', `v1a,${nonCanonicalBase64(valid)}`],
    ['the signature in hex', `v1a,${Buffer.from(valid, 'base64').toString('hex')}`],
    ['a 32-byte value', `v1a,${randomBytes(32).toString('base64')}`],
    ['an empty value', 'v1a,'],
  ])('rejects a v1a entry with %s as malformed_signature', (_, signature) => {
    // Act
    const result = verify(headers(signature), PAYLOAD, [pair.verifying]);

    // Assess
    expect(result).toBe('malformed_signature');
  });

  it('accepts up to five v1a signatures and rejects six, even when one is valid', () => {
    // Prepare
    const decoys = [1, 2, 3, 4, 5].map(() => signA(PAYLOAD, ed25519Pair()));

    // Act
    const five = verify(headers([...decoys.slice(0, 4), signA()].join(' ')), PAYLOAD, [pair.verifying]);
    const six = verify(headers([...decoys, signA()].join(' ')), PAYLOAD, [pair.verifying]);

    // Assess
    expect([five, six]).toEqual(['accepted', 'malformed_signature']);
  });

  it.each([
    ['a whsk_ private key', `whsk_${randomBytes(32).toString('base64')}`, 'only the whpk_ public key'],
    ['a whpk_ key of 31 bytes', `whpk_${randomBytes(31).toString('base64')}`, '32-byte Ed25519 public key'],
    ['a whpk_ key in base64url', `whpk_${'-'.repeat(43)}=`, '32-byte Ed25519 public key'],
  ])('fails closed with a configuration error when a secret is %s', (_, secret, message) => {
    // Act
    const run = () => verifyStandardWebhooks(signedRequest(headers(signA()), PAYLOAD, [secret]));

    // Assess
    expect(run).toThrow(message);
    expect(run).not.toThrow(SignatureVerificationError);
  });

  it('rejects any single-byte change of a v1a-signed body (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, index, mask) => {
          // Prepare
          const body = Buffer.from(bytes);
          const signed = headers(signA(body));

          // Act
          const result = verify(signed, mutateByte(body, index, mask), [pair.verifying]);

          // Assess
          expect(verify(signed, body, [pair.verifying])).toBe('accepted');
          expect(result).toBe('signature_mismatch');
        },
      ),
      { numRuns: 100 },
    );
  });
});
