import { createHmac } from 'node:crypto';
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyGithub } from '../../functions/verify/github.js';
import { SignatureVerificationError, type SignedRequest } from '../../functions/verify/index.js';
import { verifyShopify } from '../../functions/verify/shopify.js';
import { fixtureText } from './support/lambda.js';
import { mutateByte, outcome, signedRequest } from './support/signed-request.js';

const SECRET = '6c0d1f3b2a94e8577e0c4b1d9f2a6e83';
const OTHER_SECRET = '0f9e8d7c6b5a49382716f5e4d3c2b1a0';

/** Asserts a verifier throws only SignatureVerificationError for arbitrary values of its header. */
function throwsOnlyVerificationErrors(
  verifier: (request: SignedRequest) => void,
  header: string,
  value: fc.Arbitrary<string>,
): void {
  fc.assert(
    fc.property(fc.array(value, { maxLength: 3 }), fc.uint8Array({ maxLength: 64 }), (values, body) => {
      // Act
      let thrown: unknown;
      try {
        verifier(signedRequest({ [header]: values }, Buffer.from(body), [SECRET]));
      } catch (error) {
        thrown = error;
      }

      // Assess
      expect(thrown).toBeInstanceOf(SignatureVerificationError);
    }),
    { numRuns: 300 },
  );
}

describe('verifyGithub', () => {
  const payload = fixtureText('github/push.json');
  const verify = (
    header: string | string[] | undefined,
    body: string | Buffer = payload,
    secrets = [SECRET],
  ) =>
    outcome(
      verifyGithub,
      signedRequest(header === undefined ? {} : { 'X-Hub-Signature-256': header }, body, secrets),
    );

  it('accepts a request signed by @octokit/webhooks-methods, as octokit itself does', async () => {
    // Prepare
    const header = await octokitSign(SECRET, payload);

    // Act
    const result = verify(header);

    // Assess
    expect(await octokitVerify(SECRET, payload, header)).toBe(true);
    expect(result).toBe('accepted');
  });

  it('accepts a request signed with either secret during a rotation overlap', async () => {
    // Prepare
    const secrets = [SECRET, OTHER_SECRET];

    // Act
    const current = verify(await octokitSign(SECRET, payload), payload, secrets);
    const previous = verify(await octokitSign(OTHER_SECRET, payload), payload, secrets);

    // Assess
    expect([current, previous]).toEqual(['accepted', 'accepted']);
  });

  it('rejects a request without X-Hub-Signature-256 as missing_signature, even with a valid SHA-1 signature', () => {
    // Prepare
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(payload).digest('hex')}`;

    // Act
    const absent = verify(undefined);
    const legacyOnly = outcome(verifyGithub, signedRequest({ 'X-Hub-Signature': sha1 }, payload, [SECRET]));

    // Assess
    expect([absent, legacyOnly]).toEqual(['missing_signature', 'missing_signature']);
  });

  it('rejects a tampered body and another secret as signature_mismatch', async () => {
    // Prepare
    const header = await octokitSign(SECRET, payload);

    // Act
    const tampered = verify(header, payload.replace('"forced": false', '"forced": true'));
    const otherSecret = verify(await octokitSign(OTHER_SECRET, payload));

    // Assess
    expect([tampered, otherSecret]).toEqual(['signature_mismatch', 'signature_mismatch']);
  });

  const hex = createHmac('sha256', SECRET).update(payload).digest('hex');
  it('rejects a signature that differs from the valid one in its last hex digit only', () => {
    // Prepare
    const last = hex.at(-1) === '0' ? '1' : '0';

    // Act
    const result = verify(`sha256=${hex.slice(0, -1)}${last}`);

    // Assess
    expect(result).toBe('signature_mismatch');
  });

  it.each([
    ['no sha256= prefix', hex],
    ['an uppercase prefix', `SHA256=${hex}`],
    ['a sha1= prefix on a SHA-256 value', `sha1=${hex}`],
    ['uppercase hex', `sha256=${hex.toUpperCase()}`],
    ['truncated hex', `sha256=${hex.slice(0, 63)}`],
    ['junk after the hex', `sha256=${hex}zz`],
    ['a value a lenient hex decoder would cut short (abzz)', `sha256=${hex.slice(0, 60)}abzz`],
    ['an empty value after the prefix', 'sha256='],
    ['a space after the prefix', `sha256= ${hex}`],
  ])('rejects %s as malformed_signature', (_, header) => {
    // Act
    const result = verify(header);

    // Assess
    expect(result).toBe('malformed_signature');
  });

  it('rejects X-Hub-Signature-256 sent twice as duplicate_header', async () => {
    // Prepare
    const header = await octokitSign(SECRET, payload);

    // Act
    const result = verify([header, header]);

    // Assess
    expect(result).toBe('duplicate_header');
  });

  it('rejects any single-byte change of a validly signed body (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (body, index, mask) => {
          // Prepare
          const header = await octokitSign(SECRET, body);
          const mutated = mutateByte(Buffer.from(body, 'utf8'), index, mask);

          // Act
          const result = verify(header, mutated);

          // Assess
          expect(verify(header, body)).toBe('accepted');
          expect(result).toBe('signature_mismatch');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws nothing but SignatureVerificationError for arbitrary header values (property)', () => {
    const hexish = fc.string({
      unit: fc.constantFrom(...'0123456789abcdefABCDEFz'),
      minLength: 60,
      maxLength: 68,
    });
    throwsOnlyVerificationErrors(
      verifyGithub,
      'x-hub-signature-256',
      fc.oneof(
        fc.string({ maxLength: 80 }),
        hexish.map((value) => `sha256=${value}`),
      ),
    );
  });
});

describe('verifyShopify', () => {
  const payload = fixtureText('shopify/orders-paid.json');
  /** Shopify publishes no signer: this is the documented HMAC-SHA256 of the raw body, base64. */
  const shopifySign = (body: string | Buffer, secret = SECRET) =>
    createHmac('sha256', secret).update(body).digest('base64');
  const verify = (
    header: string | string[] | undefined,
    body: string | Buffer = payload,
    secrets = [SECRET],
  ) =>
    outcome(
      verifyShopify,
      signedRequest(header === undefined ? {} : { 'X-Shopify-Hmac-Sha256': header }, body, secrets),
    );

  it('accepts a request signed as Shopify documents it', () => {
    // Act
    const result = verify(shopifySign(payload));

    // Assess
    expect(result).toBe('accepted');
  });

  it('accepts a request signed with either secret during a rotation overlap', () => {
    // Prepare
    const secrets = [SECRET, OTHER_SECRET];

    // Act
    const current = verify(shopifySign(payload, SECRET), payload, secrets);
    const previous = verify(shopifySign(payload, OTHER_SECRET), payload, secrets);

    // Assess
    expect([current, previous]).toEqual(['accepted', 'accepted']);
  });

  it('rejects a request without X-Shopify-Hmac-Sha256 as missing_signature', () => {
    // Act
    const absent = verify(undefined);
    const empty = verify('');

    // Assess
    expect([absent, empty]).toEqual(['missing_signature', 'missing_signature']);
  });

  it('rejects a tampered body and another secret as signature_mismatch', () => {
    // Act
    const tampered = verify(shopifySign(payload), payload.replace('"63.72"', '"0.01"'));
    const otherSecret = verify(shopifySign(payload, OTHER_SECRET));

    // Assess
    expect([tampered, otherSecret]).toEqual(['signature_mismatch', 'signature_mismatch']);
  });

  const base64 = shopifySign(payload);
  it.each([
    ['base64 without padding', base64.replace(/=$/, '')],
    ['truncated base64', `${base64.slice(0, 40)}=`],
    ['junk after the base64', `${base64}zz`],
    ['base64url characters', `${base64.slice(0, 41)}-_=`],
    ['hex instead of base64', createHmac('sha256', SECRET).update(payload).digest('hex')],
    ['a sha256= prefix', `sha256=${base64}`],
    ['surrounding spaces', ` ${base64}`],
  ])('rejects %s as malformed_signature', (_, header) => {
    // Act
    const result = verify(header);

    // Assess
    expect(result).toBe('malformed_signature');
  });

  it('rejects X-Shopify-Hmac-Sha256 sent twice as duplicate_header', () => {
    // Act
    const result = verify([base64, base64]);

    // Assess
    expect(result).toBe('duplicate_header');
  });

  it('rejects any single-byte change of a validly signed body (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, index, mask) => {
          // Prepare
          const body = Buffer.from(bytes);
          const header = shopifySign(body);
          const mutated = mutateByte(body, index, mask);

          // Act
          const result = verify(header, mutated);

          // Assess
          expect(verify(header, body)).toBe('accepted');
          expect(result).toBe('signature_mismatch');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws nothing but SignatureVerificationError for arbitrary header values (property)', () => {
    throwsOnlyVerificationErrors(
      verifyShopify,
      'x-shopify-hmac-sha256',
      fc.oneof(
        fc.string({ maxLength: 80 }),
        fc.string({ unit: fc.constantFrom(...'AZaz09+/=-_'), minLength: 42, maxLength: 46 }),
      ),
    );
  });
});
