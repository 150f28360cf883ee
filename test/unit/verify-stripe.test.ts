import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RequestHeaders, SignatureVerificationError } from '../../functions/verify/index.js';
import { verifyStripe } from '../../functions/verify/stripe.js';
import { fixtureText } from './support/lambda.js';
import { mutateByte, NOW_SECONDS, outcome, signedRequest } from './support/signed-request.js';

const SECRET = 'whsec_5f3c1a9e8b7d6c5b4a39281706f5e4d3';
const OTHER_SECRET = 'whsec_0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const PAYLOAD = fixtureText('stripe/checkout.session.completed.json');

/** A `Stripe-Signature` header made by Stripe's own library. */
function stripeHeader(payload: string, secret: string, timestamp = NOW_SECONDS): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

/** Only the `v1=<hex>` entry of a Stripe-made header. */
function v1Entry(payload: string, secret: string, timestamp = NOW_SECONDS): string {
  const entry = stripeHeader(payload, secret, timestamp)
    .split(',')
    .find((item) => item.startsWith('v1='));
  if (!entry) throw new Error('stripe made no v1 entry');
  return entry;
}

const hexOf = (payload: string, secret: string, timestamp = NOW_SECONDS) =>
  v1Entry(payload, secret, timestamp).slice('v1='.length);

const verify = (header: string | string[] | undefined, payload: string | Buffer, secrets = [SECRET]) =>
  outcome(
    verifyStripe,
    signedRequest(header === undefined ? {} : { 'Stripe-Signature': header }, payload, secrets),
  );

describe('verifyStripe', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW_SECONDS * 1000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('accepts a request signed by the stripe library', () => {
    // Prepare
    const header = stripeHeader(PAYLOAD, SECRET);

    // Act
    const result = verify(header, PAYLOAD);

    // Assess
    expect(result).toBe('accepted');
  });

  it('accepts a header carrying several v1 signatures while Stripe rolls the endpoint secret', () => {
    // Prepare
    const header = `t=${NOW_SECONDS},${v1Entry(PAYLOAD, OTHER_SECRET)},${v1Entry(PAYLOAD, SECRET)}`;

    // Act
    const withNewSecret = verify(header, PAYLOAD, [SECRET]);
    const withOldSecret = verify(header, PAYLOAD, [OTHER_SECRET]);
    const withNeither = verify(header, PAYLOAD, ['whsec_unrelated']);

    // Assess
    expect([withNewSecret, withOldSecret, withNeither]).toEqual([
      'accepted',
      'accepted',
      'signature_mismatch',
    ]);
  });

  it('accepts a request signed with either secret during a rotation overlap', () => {
    // Prepare
    const secrets = [SECRET, OTHER_SECRET];

    // Act
    const current = verify(stripeHeader(PAYLOAD, SECRET), PAYLOAD, secrets);
    const previous = verify(stripeHeader(PAYLOAD, OTHER_SECRET), PAYLOAD, secrets);
    const retired = verify(stripeHeader(PAYLOAD, 'whsec_retired'), PAYLOAD, secrets);

    // Assess
    expect([current, previous, retired]).toEqual(['accepted', 'accepted', 'signature_mismatch']);
  });

  it('rejects a request without a Stripe-Signature header or with an empty one as missing_signature', () => {
    // Act
    const absent = verify(undefined, PAYLOAD);
    const empty = verify('', PAYLOAD);

    // Assess
    expect([absent, empty]).toEqual(['missing_signature', 'missing_signature']);
  });

  it('rejects a tampered body as signature_mismatch', () => {
    // Prepare
    const header = stripeHeader(PAYLOAD, SECRET);
    const tampered = PAYLOAD.replace('"amount_total": 4990', '"amount_total": 1');

    // Act
    const result = verify(header, tampered);

    // Assess
    expect(tampered).not.toBe(PAYLOAD);
    expect(result).toBe('signature_mismatch');
  });

  it('rejects a request signed with another secret as signature_mismatch', () => {
    // Act
    const result = verify(stripeHeader(PAYLOAD, OTHER_SECRET), PAYLOAD, [SECRET]);

    // Assess
    expect(result).toBe('signature_mismatch');
  });

  it('rejects a request whose signed timestamp was moved as signature_mismatch', () => {
    // Prepare
    const header = `t=${NOW_SECONDS + 1},${v1Entry(PAYLOAD, SECRET, NOW_SECONDS)}`;

    // Act
    const result = verify(header, PAYLOAD);

    // Assess
    expect(result).toBe('signature_mismatch');
  });

  it.each([
    ['301 s in the past', -301, 'stale_timestamp'],
    ['301 s in the future', 301, 'stale_timestamp'],
    ['300 s in the past', -300, 'accepted'],
    ['299 s in the past', -299, 'accepted'],
    ['299 s in the future', 299, 'accepted'],
  ])('answers %s with %s', (_, offset, expected) => {
    // Prepare
    const header = stripeHeader(PAYLOAD, SECRET, NOW_SECONDS + offset);

    // Act
    const result = verify(header, PAYLOAD);

    // Assess
    expect(result).toBe(expected);
  });

  const hex = hexOf(PAYLOAD, SECRET);
  it.each([
    ['a truncated hex signature', `t=${NOW_SECONDS},v1=${hex.slice(0, 63)}`],
    ['an uppercase hex signature', `t=${NOW_SECONDS},v1=${hex.toUpperCase()}`],
    ['junk after the hex signature', `t=${NOW_SECONDS},v1=${hex}zz`],
    [
      'a signature a lenient hex decoder would cut short (abzz)',
      `t=${NOW_SECONDS},v1=${hex.slice(0, 60)}abzz`,
    ],
    ['an empty v1 value', `t=${NOW_SECONDS},v1=`],
    ['a non-numeric timestamp', `t=17637264OO,v1=${hex}`],
    [
      'a 13-digit (milliseconds) timestamp',
      `t=${NOW_SECONDS}000,v1=${hexOf(PAYLOAD, SECRET, NOW_SECONDS * 1000)}`,
    ],
    ['a negative timestamp', `t=-${NOW_SECONDS},v1=${hex}`],
    ['an empty timestamp', `t=,v1=${hex}`],
    ['t= twice', `t=${NOW_SECONDS},t=${NOW_SECONDS},v1=${hex}`],
    ['t= twice with different values', `t=${NOW_SECONDS},v1=${hex},t=${NOW_SECONDS - 1000}`],
    ['an entry without "="', `t=${NOW_SECONDS},v1=${hex},garbage`],
    ['an entry with an empty key', `t=${NOW_SECONDS},=${hex},v1=${hex}`],
    ['a trailing comma', `t=${NOW_SECONDS},v1=${hex},`],
  ])('rejects %s as malformed_signature', (_, header) => {
    // Act
    const result = verify(header, PAYLOAD);

    // Assess
    expect(result).toBe('malformed_signature');
  });

  it('rejects a header that has a timestamp but no v1 signature as missing_signature', () => {
    // Act
    const result = verify(`t=${NOW_SECONDS}`, PAYLOAD);

    // Assess
    expect(result).toBe('missing_signature');
  });

  it('rejects a header that has signatures but no timestamp as missing_signature', () => {
    // Act
    const result = verify(v1Entry(PAYLOAD, SECRET), PAYLOAD);

    // Assess
    expect(result).toBe('missing_signature');
  });

  it('does not downgrade to a valid v0 signature when no v1 is present', () => {
    // Prepare: a v0 entry computed exactly like a valid v1
    const header = Stripe.webhooks.generateTestHeaderString({
      payload: PAYLOAD,
      secret: SECRET,
      timestamp: NOW_SECONDS,
      scheme: 'v0',
    });

    // Act
    const result = verify(header, PAYLOAD);

    // Assess
    expect(header).toMatch(/^t=\d+,v0=[0-9a-f]{64}$/);
    expect(result).toBe('missing_signature');
  });

  it('ignores a valid v0 entry next to an invalid v1 signature', () => {
    // Prepare
    const v0 = hexOf(PAYLOAD, SECRET);
    const header = `t=${NOW_SECONDS},v1=${hexOf(PAYLOAD, 'whsec_attacker')},v0=${v0}`;

    // Act
    const result = verify(header, PAYLOAD);

    // Assess
    expect(result).toBe('signature_mismatch');
  });

  it('rejects a Stripe-Signature header sent twice as duplicate_header, even when both copies are valid', () => {
    // Prepare
    const header = stripeHeader(PAYLOAD, SECRET);

    // Act
    const repeated = verify([header, header], PAYLOAD);
    const differentCase = outcome(
      verifyStripe,
      signedRequest({ 'Stripe-Signature': header, 'stripe-signature': header }, PAYLOAD, [SECRET]),
    );

    // Assess
    expect([repeated, differentCase]).toEqual(['duplicate_header', 'duplicate_header']);
  });

  it('rejects a header longer than 1024 characters, even with a valid signature in it', () => {
    // Prepare: a valid header padded with an entry of an unknown scheme, which is ignored
    const valid = stripeHeader(PAYLOAD, SECRET);
    const padded = (length: number) => `${valid},x=${'y'.repeat(length - valid.length - 3)}`;

    // Act
    const justFits = verify(padded(1024), PAYLOAD);
    const tooLong = verify(padded(1025), PAYLOAD);

    // Assess
    expect([padded(1024).length, padded(1025).length]).toEqual([1024, 1025]);
    expect(justFits).toBe('accepted');
    expect(tooLong).toBe('malformed_signature');
  });

  it('accepts up to five v1 signatures and rejects six, even when one is valid', () => {
    // Prepare
    const decoys = ['a', 'b', 'c', 'd', 'e'].map((seed) => v1Entry(PAYLOAD, `whsec_${seed}`));
    const valid = v1Entry(PAYLOAD, SECRET);

    // Act
    const five = verify([`t=${NOW_SECONDS}`, ...decoys.slice(0, 4), valid].join(','), PAYLOAD);
    const six = verify([`t=${NOW_SECONDS}`, ...decoys, valid].join(','), PAYLOAD);

    // Assess
    expect(five).toBe('accepted');
    expect(six).toBe('malformed_signature');
  });

  it('verifies the exact bytes, including non-ASCII characters', () => {
    // Prepare
    const payload = '{"id":"evt_1","object":"event","name":"Zoë Ångström — 東京 🚀"}';
    const header = stripeHeader(payload, SECRET);

    // Act
    const exact = verify(header, Buffer.from(payload, 'utf8'));
    const normalized = verify(header, Buffer.from(payload.normalize('NFD'), 'utf8'));

    // Assess
    expect(exact).toBe('accepted');
    expect(normalized).toBe('signature_mismatch');
  });

  it('rejects any single-byte change of a validly signed body (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (payload, index, mask) => {
          // Prepare
          const header = stripeHeader(payload, SECRET);
          const mutated = mutateByte(Buffer.from(payload, 'utf8'), index, mask);

          // Act
          const result = verify(header, mutated);

          // Assess
          expect(verify(header, payload)).toBe('accepted');
          expect(result).toBe('signature_mismatch');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws nothing but SignatureVerificationError for arbitrary header values and bodies (property)', () => {
    const hexish = fc.string({
      unit: fc.constantFrom(...'0123456789abcdefABCDEFz'),
      minLength: 60,
      maxLength: 68,
    });
    const entry = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc
        .tuple(fc.constantFrom('t', 'v1', 'v0', '', '='), fc.oneof(fc.string({ maxLength: 70 }), hexish))
        .map(([key, value]) => `${key}=${value}`),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.array(entry, { maxLength: 8 }).map((entries) => entries.join(',')),
          { maxLength: 3 },
        ),
        fc.uint8Array({ maxLength: 64 }),
        (values, body) => {
          // Act
          let thrown: unknown;
          try {
            verifyStripe(signedRequest({ 'stripe-signature': values }, Buffer.from(body), [SECRET]));
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

describe('verifyStripe cross-checked with stripe.webhooks.constructEvent', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW_SECONDS * 1000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const payload = '{"id":"evt_cross","object":"event","type":"checkout.session.completed"}';
  it.each([
    ['a single v1 signature', stripeHeader(payload, SECRET), SECRET],
    [
      'a roll with two v1 signatures',
      `t=${NOW_SECONDS},${v1Entry(payload, OTHER_SECRET)},${v1Entry(payload, SECRET)}`,
      SECRET,
    ],
    [
      'the previous secret of a roll',
      `t=${NOW_SECONDS},${v1Entry(payload, SECRET)},${v1Entry(payload, OTHER_SECRET)}`,
      OTHER_SECRET,
    ],
    ['a timestamp 299 s old', stripeHeader(payload, SECRET, NOW_SECONDS - 299), SECRET],
    ['a v0 entry next to the v1', `${stripeHeader(payload, SECRET)},v0=${'ab'.repeat(32)}`, SECRET],
  ])('is accepted by both for %s', (_, header, secret) => {
    // Act
    const ours = verify(header, payload, [secret]);
    const theirs = Stripe.webhooks.constructEvent(payload, header, secret, 300);

    // Assess
    expect(ours).toBe('accepted');
    expect(theirs.id).toBe('evt_cross');
  });

  it('accepts whatever stripe signs within the tolerance, as stripe itself does (property)', () => {
    fc.assert(
      fc.property(
        fc
          .string({ unit: 'grapheme', maxLength: 200 })
          .map((text) => JSON.stringify({ id: 'evt_p', object: 'event', text })),
        fc.stringMatching(/^whsec_[0-9a-zA-Z]{32}$/),
        fc.integer({ min: -300, max: 0 }),
        (body, secret, offset) => {
          // Prepare
          const header = stripeHeader(body, secret, NOW_SECONDS + offset);

          // Act
          const ours = verify(header, body, [secret]);
          const theirs = () => Stripe.webhooks.constructEvent(body, header, secret, 300);

          // Assess
          expect(theirs).not.toThrow();
          expect(ours).toBe('accepted');
        },
      ),
      { numRuns: 100 },
    );
  });

  it('computes the same v1 signature as a plain HMAC-SHA256 over "<t>.<body>" keyed with the whole whsec_ secret', () => {
    // Prepare
    const expected = createHmac('sha256', SECRET).update(`${NOW_SECONDS}.${payload}`).digest('hex');

    // Act
    const result = verify(`t=${NOW_SECONDS},v1=${expected}`, payload);

    // Assess
    expect(hexOf(payload, SECRET)).toBe(expected);
    expect(result).toBe('accepted');
  });
});

describe('verifyStripe, on headers joined by a proxy', () => {
  it('rejects two Stripe-Signature headers joined with a comma and a space into one', () => {
    // Prepare
    const body = Buffer.from('{"id":"evt_joined"}');
    const secret = 'whsec_joined_headers_test_secret';
    const now = 1_763_726_400;
    const header = `t=${now},v1=${createHmac('sha256', secret).update(`${now}.`).update(body).digest('hex')}`;
    const request = {
      headers: new RequestHeaders({ 'stripe-signature': [`${header}, ${header}`] }),
      body,
      secrets: [secret],
      nowSeconds: now,
      toleranceSeconds: 300,
    };

    // Act
    const run = () => verifyStripe(request);

    // Assess
    expect(run).toThrow(expect.objectContaining({ reason: 'malformed_signature' }));
  });
});
