import { createHmac } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import type { HmacOptions } from '../../functions/sources.js';
import { hmacScheme, verifyHmac } from '../../functions/verify/hmac.js';
import { RequestHeaders, SignatureVerificationError } from '../../functions/verify/index.js';
import {
  mutateByte,
  NOW_SECONDS,
  nonCanonicalBase64,
  outcome,
  signedRequest,
} from './support/signed-request.js';
import { hmacSignature } from './support/vendor-signing.js';

const SECRET = 'acme-signing-secret-7d1e0c9b5a';
const OTHER_SECRET = 'acme-signing-secret-previous-3f';
const PAYLOAD = '{"id":"evt_81","type":"invoice.paid","data":{"id":4711,"name":"Zoë — 東京"}}';

/** GitHub-like: `sha256=<hex>` over the body, identity in headers. */
const PREFIXED_HEX: HmacOptions = {
  scheme: 'hmac',
  signatureHeader: 'X-Acme-Signature',
  algorithm: 'sha256',
  encoding: 'hex',
  prefix: 'sha256=',
  eventId: { header: 'X-Acme-Delivery' },
  eventType: { header: 'X-Acme-Event' },
};
/** SHA-512 base64 over a custom template with a signed timestamp, identity in the body / fixed. */
const TEMPLATED_SHA512: HmacOptions = {
  scheme: 'hmac',
  signatureHeader: 'X-Signature',
  algorithm: 'sha512',
  encoding: 'base64',
  timestampHeader: 'X-Signature-Timestamp',
  message: 'v1:{timestamp}:{body}',
  eventId: { field: 'data.id' },
  eventType: { value: 'acme.invoice' },
};
/** Stripe-like: hex SHA-256 over the default `{timestamp}.{body}`, no prefix. */
const TIMESTAMPED_HEX: HmacOptions = {
  scheme: 'hmac',
  signatureHeader: 'Acme-Signature',
  algorithm: 'sha256',
  encoding: 'hex',
  timestampHeader: 'Acme-Timestamp',
  eventId: { field: 'id' },
  eventType: { field: 'type' },
};
const CONFIGURATIONS = [
  ['prefixed hex SHA-256', PREFIXED_HEX],
  ['templated base64 SHA-512 with a timestamp', TEMPLATED_SHA512],
  ['hex SHA-256 over {timestamp}.{body}', TIMESTAMPED_HEX],
] as const;

function headers(
  options: HmacOptions,
  signature: string | string[],
  timestamp: string | string[] | number = NOW_SECONDS,
): Record<string, string | string[]> {
  return {
    [options.signatureHeader]: signature,
    ...(options.timestampHeader
      ? { [options.timestampHeader]: typeof timestamp === 'number' ? String(timestamp) : timestamp }
      : {}),
  };
}

const sign = (
  options: HmacOptions,
  body: string | Buffer = PAYLOAD,
  secret = SECRET,
  timestamp: number | string = NOW_SECONDS,
) => hmacSignature(options, secret, body, timestamp);

const verify = (
  options: HmacOptions,
  requestHeaders: Record<string, string | string[]>,
  body: string | Buffer = PAYLOAD,
  secrets = [SECRET],
) => outcome((request) => verifyHmac(request, options), signedRequest(requestHeaders, body, secrets));

describe('verifyHmac', () => {
  it.each(CONFIGURATIONS)('accepts a request signed as configured (%s)', (_, options) => {
    // Act
    const result = verify(options, headers(options, sign(options)));

    // Assess
    expect(result).toBe('accepted');
  });

  it('computes what GitHub signs for a sha256=-prefixed hex configuration (octokit)', async () => {
    // Prepare
    const octokit = await octokitSign(SECRET, PAYLOAD);

    // Act
    const result = verify(PREFIXED_HEX, headers(PREFIXED_HEX, octokit));

    // Assess
    expect(octokit).toBe(sign(PREFIXED_HEX));
    expect(result).toBe('accepted');
  });

  it('computes what Stripe signs for a hex {timestamp}.{body} configuration (stripe-node)', () => {
    // Prepare
    const stripeHeader = Stripe.webhooks.generateTestHeaderString({
      payload: PAYLOAD,
      secret: SECRET,
      timestamp: NOW_SECONDS,
    });
    const v1 = /v1=([0-9a-f]{64})/.exec(stripeHeader)?.[1] ?? '';

    // Act
    const result = verify(TIMESTAMPED_HEX, headers(TIMESTAMPED_HEX, v1));

    // Assess
    expect(result).toBe('accepted');
  });

  it('replaces {timestamp} and {body} in the template and keeps its literal text, byte for byte', () => {
    // Prepare
    const options: HmacOptions = { ...TEMPLATED_SHA512, message: '{timestamp}|{body}|{body}|end' };
    const body = Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d, 0xff]);
    const manual = createHmac('sha512', SECRET)
      .update(`${NOW_SECONDS}|`)
      .update(body)
      .update('|')
      .update(body)
      .update('|end')
      .digest('base64');

    // Act
    const result = verify(options, headers(options, manual), body);

    // Assess
    expect(result).toBe('accepted');
  });

  it.each(CONFIGURATIONS)(
    'accepts either secret during a rotation overlap, and not a retired one (%s)',
    (_, options) => {
      // Prepare
      const secrets = [SECRET, OTHER_SECRET];

      // Act
      const current = verify(options, headers(options, sign(options, PAYLOAD, SECRET)), PAYLOAD, secrets);
      const previous = verify(
        options,
        headers(options, sign(options, PAYLOAD, OTHER_SECRET)),
        PAYLOAD,
        secrets,
      );
      const retired = verify(options, headers(options, sign(options, PAYLOAD, 'retired')), PAYLOAD, secrets);

      // Assess
      expect([current, previous, retired]).toEqual(['accepted', 'accepted', 'signature_mismatch']);
    },
  );

  it.each(CONFIGURATIONS)(
    'rejects a missing or empty signature header as missing_signature (%s)',
    (_, options) => {
      // Prepare
      const { [options.signatureHeader]: _signature, ...withoutSignature } = headers(options, sign(options));

      // Act
      const absent = verify(options, withoutSignature);
      const empty = verify(options, headers(options, ''));

      // Assess
      expect([absent, empty]).toEqual(['missing_signature', 'missing_signature']);
    },
  );

  it('rejects a missing or empty timestamp header as missing_signature when one is configured', () => {
    // Act
    const absent = verify(TIMESTAMPED_HEX, { 'Acme-Signature': sign(TIMESTAMPED_HEX) });
    const empty = verify(TIMESTAMPED_HEX, headers(TIMESTAMPED_HEX, sign(TIMESTAMPED_HEX), ''));

    // Assess
    expect([absent, empty]).toEqual(['missing_signature', 'missing_signature']);
  });

  it.each(CONFIGURATIONS)('rejects tampering as signature_mismatch (%s)', (_, options) => {
    // Prepare
    const signature = sign(options);
    const pretty = JSON.stringify(JSON.parse(PAYLOAD), null, 2);

    // Act
    const results = [
      verify(options, headers(options, sign(options, PAYLOAD, OTHER_SECRET))),
      verify(options, headers(options, signature), PAYLOAD.replace('evt_81', 'evt_82')),
      verify(options, headers(options, signature), `${PAYLOAD}\n`),
      verify(options, headers(options, signature), `${PAYLOAD} `),
      verify(options, headers(options, signature), pretty),
      verify(options, headers(options, signature), PAYLOAD.normalize('NFD')),
    ];

    // Assess
    expect(results).toEqual(Array(6).fill('signature_mismatch'));
  });

  it.each(CONFIGURATIONS)(
    'accepts a pretty-printed body signed over those exact bytes (%s)',
    (_, options) => {
      // Prepare
      const pretty = JSON.stringify(JSON.parse(PAYLOAD), null, 2);

      // Act
      const result = verify(options, headers(options, sign(options, pretty)), pretty);

      // Assess
      expect(result).toBe('accepted');
    },
  );

  it('rejects a signature moved to another timestamp as signature_mismatch', () => {
    // Act
    const result = verify(TIMESTAMPED_HEX, headers(TIMESTAMPED_HEX, sign(TIMESTAMPED_HEX), NOW_SECONDS - 1));

    // Assess
    expect(result).toBe('signature_mismatch');
  });

  it.each([
    ['301 s in the past', -301, 'stale_timestamp'],
    ['301 s in the future', 301, 'stale_timestamp'],
    ['300 s in the past', -300, 'accepted'],
    ['299 s in the past', -299, 'accepted'],
    ['299 s in the future', 299, 'accepted'],
  ])('answers a timestamp %s with %s', (_, offset, expected) => {
    // Prepare
    const timestamp = NOW_SECONDS + offset;

    // Act
    const result = verify(
      TEMPLATED_SHA512,
      headers(TEMPLATED_SHA512, sign(TEMPLATED_SHA512, PAYLOAD, SECRET, timestamp), timestamp),
    );

    // Assess
    expect(result).toBe(expected);
  });

  it.each([
    `${NOW_SECONDS}abc`,
    `+${NOW_SECONDS}`,
    ` ${NOW_SECONDS}`,
    '1.76e9',
    `${NOW_SECONDS}000`,
    `-${NOW_SECONDS}`,
  ])(
    'rejects the non-canonical timestamp "%s" as malformed_signature, even when it is what was signed',
    (timestamp) => {
      // Act
      const result = verify(
        TIMESTAMPED_HEX,
        headers(TIMESTAMPED_HEX, sign(TIMESTAMPED_HEX, PAYLOAD, SECRET, timestamp), timestamp),
      );

      // Assess
      expect(result).toBe('malformed_signature');
    },
  );

  const hex = sign(PREFIXED_HEX).slice('sha256='.length);
  it.each([
    ['no prefix', hex],
    ['another prefix (sha1=)', `sha1=${hex}`],
    ['an uppercase prefix', `SHA256=${hex}`],
    ['the prefix twice', `sha256=sha256=${hex}`],
    ['63 hex characters', `sha256=${hex.slice(0, 63)}`],
    ['65 hex characters', `sha256=${hex}0`],
    ['uppercase hex', `sha256=${hex.toUpperCase()}`],
    ['junk a lenient decoder would stop at (abzz)', `sha256=${hex.slice(0, 60)}abzz`],
    ['a SHA-512 digest (128 hex)', `sha256=${createHmac('sha512', SECRET).update(PAYLOAD).digest('hex')}`],
    ['the digest in base64', `sha256=${Buffer.from(hex, 'hex').toString('base64')}`],
    ['two signatures', `sha256=${hex},sha256=${hex}`],
    ['a header over 1 KB', `sha256=${hex}${'0'.repeat(1100)}`],
  ])('rejects %s as malformed_signature with a prefixed hex configuration', (_, signature) => {
    // Act
    const result = verify(PREFIXED_HEX, headers(PREFIXED_HEX, signature));

    // Assess
    expect(result).toBe('malformed_signature');
  });

  it('rejects any prefix when none is configured', () => {
    // Act
    const result = verify(TIMESTAMPED_HEX, headers(TIMESTAMPED_HEX, `v1=${sign(TIMESTAMPED_HEX)}`));

    // Assess
    expect(result).toBe('malformed_signature');
  });

  const base64 = sign(TEMPLATED_SHA512);
  it.each([
    ['87 characters', base64.slice(0, 87)],
    ['no padding', base64.replace(/=+$/, '')],
    ['base64url characters', `${base64.slice(0, 84)}-_==`],
    ['a space inside', `${base64.slice(0, 40)} ${base64.slice(40)}`],
    ['a trailing newline', `${base64}\n`],
    ['trailing junk', `${base64}AA==`],
    ['the digest in hex', Buffer.from(base64, 'base64').toString('hex')],
    ['a SHA-256 digest (44 characters)', createHmac('sha256', SECRET).update(PAYLOAD).digest('base64')],
    ['a non-canonical spelling of the right bytes (unused bits set)', nonCanonicalBase64(base64)],
  ])('rejects %s as malformed_signature with a base64 SHA-512 configuration', (_, signature) => {
    // Act
    const result = verify(TEMPLATED_SHA512, headers(TEMPLATED_SHA512, signature));

    // Assess
    expect(result).toBe('malformed_signature');
  });

  it.each(CONFIGURATIONS)(
    'rejects the signature header sent twice as duplicate_header (%s)',
    (_, options) => {
      // Act
      const result = verify(options, headers(options, [sign(options), sign(options)]));

      // Assess
      expect(result).toBe('duplicate_header');
    },
  );

  it('rejects the timestamp header sent twice as duplicate_header', () => {
    // Act
    const result = verify(
      TIMESTAMPED_HEX,
      headers(TIMESTAMPED_HEX, sign(TIMESTAMPED_HEX), [String(NOW_SECONDS), String(NOW_SECONDS)]),
    );

    // Assess
    expect(result).toBe('duplicate_header');
  });

  it('finds the headers whatever the case of their names', () => {
    // Act
    const upper = verify(TIMESTAMPED_HEX, {
      'ACME-SIGNATURE': sign(TIMESTAMPED_HEX),
      'ACME-TIMESTAMP': String(NOW_SECONDS),
    });
    const lower = verify(PREFIXED_HEX, { 'x-acme-signature': sign(PREFIXED_HEX) });

    // Assess
    expect([upper, lower]).toEqual(['accepted', 'accepted']);
  });

  it('fails closed with a configuration error when the template uses {timestamp} without a timestamp header', () => {
    // Prepare
    const options: HmacOptions = { ...PREFIXED_HEX, message: '{timestamp}.{body}' };

    // Act
    const run = () => verifyHmac(signedRequest({}, PAYLOAD, [SECRET]), options);

    // Assess
    expect(run).toThrow('uses {timestamp} but no timestampHeader is set');
    expect(run).not.toThrow(SignatureVerificationError);
  });

  it.each(CONFIGURATIONS)(
    'rejects any single-byte change of a validly signed body (property, %s)',
    (_, options) => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (bytes, index, mask) => {
            // Prepare
            const body = Buffer.from(bytes);
            const signed = headers(options, sign(options, body));

            // Act
            const result = verify(options, signed, mutateByte(body, index, mask));

            // Assess
            expect(verify(options, signed, body)).toBe('accepted');
            expect(result).toBe('signature_mismatch');
          },
        ),
        { numRuns: 100 },
      );
    },
  );

  it('throws nothing but SignatureVerificationError for arbitrary header values and bodies (property)', () => {
    const values = (item: fc.Arbitrary<string>) => fc.array(item, { maxLength: 2 });
    fc.assert(
      fc.property(
        fc.constantFrom(...CONFIGURATIONS.map(([, options]) => options)),
        values(
          fc.oneof(
            fc.string({ maxLength: 100 }),
            fc.string({
              unit: fc.constantFrom(...'0123456789abcdefABz+/=-_ '),
              minLength: 40,
              maxLength: 140,
            }),
          ),
        ),
        values(
          fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: 0, max: 2 * NOW_SECONDS }).map(String)),
        ),
        fc.uint8Array({ maxLength: 64 }),
        (options, signature, timestamp, body) => {
          // Act
          let thrown: unknown;
          try {
            verifyHmac(
              signedRequest(headers(options, signature, timestamp), Buffer.from(body), [SECRET]),
              options,
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

describe('hmacScheme.identify', () => {
  const headers = (values: Record<string, string> = {}) =>
    new RequestHeaders(Object.fromEntries(Object.entries(values).map(([name, value]) => [name, [value]])));

  it('takes the id and type from headers when the locators name headers', () => {
    // Act
    const identity = hmacScheme.identify(
      headers({ 'x-acme-delivery': 'd-1', 'X-ACME-EVENT': 'invoice.paid' }),
      JSON.parse(PAYLOAD),
      PREFIXED_HEX,
    );

    // Assess
    expect(identity).toEqual({ eventId: 'd-1', eventType: 'invoice.paid' });
  });

  it('takes the id from a dotted field path (a number as its decimal text) and a fixed type', () => {
    // Act
    const identity = hmacScheme.identify(headers(), JSON.parse(PAYLOAD), TEMPLATED_SHA512);

    // Assess
    expect(identity).toEqual({ eventId: '4711', eventType: 'acme.invoice' });
  });

  it('takes top-level fields', () => {
    // Act
    const identity = hmacScheme.identify(headers(), JSON.parse(PAYLOAD), TIMESTAMPED_HEX);

    // Assess
    expect(identity).toEqual({ eventId: 'evt_81', eventType: 'invoice.paid' });
  });

  it.each([
    ['a missing path', { data: {} }],
    ['a path through a non-object', { data: 'x' }],
    ['a path through an array', { data: [{ id: 'a' }] }],
    ['an inherited property', { data: Object.create({ id: 'inherited' }) }],
    ['a non-integer number', { data: { id: 1.5 } }],
    ['a non-JSON payload', undefined],
  ])('finds no usable id for %s', (_, payload) => {
    // Act
    const { eventId } = hmacScheme.identify(headers(), payload, TEMPLATED_SHA512);

    // Assess
    expect(typeof eventId === 'string').toBe(false);
  });

  it('does not read prototype properties such as constructor', () => {
    // Act
    const { eventId } = hmacScheme.identify(
      headers(),
      { id: 'x' },
      { ...TIMESTAMPED_HEX, eventId: { field: 'constructor' } },
    );

    // Assess
    expect(eventId).toBeUndefined();
  });
});
