import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import twilioLibrary from 'twilio';
import { describe, expect, it } from 'vitest';
import type { SchemeOptions } from '../../functions/sources.js';
import { formPayload, RequestHeaders, SignatureVerificationError } from '../../functions/verify/index.js';
import { twilio, verifyTwilio } from '../../functions/verify/twilio.js';
import {
  mutateByte,
  NOW_SECONDS,
  nonCanonicalBase64,
  outcome,
  signedRequest,
} from './support/signed-request.js';
import { formParams, twilioJsonUrl, twilioSignature } from './support/vendor-signing.js';

type TwilioOptions = Extract<SchemeOptions, { scheme: 'twilio' }>;

const AUTH_TOKEN = '12345a6789bc0def12345a6789bc0def';
const SECONDARY_TOKEN = 'fedcba98765432100123456789abcdef';
const OPTIONS: TwilioOptions = { scheme: 'twilio', publicUrl: 'https://hooks.example.com/webhooks/sms' };
const PUBLIC_URL = OPTIONS.publicUrl;
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
/** An inbound SMS webhook, as Twilio posts it. */
const SMS =
  'ToCountry=US&ToState=CA&SmsMessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&NumMedia=0&ToCity=&FromZip=94105' +
  '&SmsSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO' +
  '&Body=Hello+from+Z%C3%BCrich+%F0%9F%91%8B&FromCountry=US&To=%2B15017122661&ToZip=&NumSegments=1' +
  '&MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&AccountSid=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' +
  '&From=%2B15558675310&ApiVersion=2010-04-01';
const JSON_BODY = '{"ParentAccountSid":"AC1","Payload":{"text":"Grüße"},"Level":"ERROR","Sid":"NO1"}';

/** `X-Twilio-Signature` as twilio-node computes it for a form body posted to `url`. */
const signForm = (body: string, token = AUTH_TOKEN, url = PUBLIC_URL) =>
  twilioSignature(token, url, formParams(body));
/** `X-Twilio-Signature` as twilio-node computes it for a JSON body posted to `url?bodySHA256=…`. */
const signJson = (body: string | Buffer, token = AUTH_TOKEN, url = PUBLIC_URL) =>
  twilioSignature(token, twilioJsonUrl(url, body), {});

const verify = (
  requestHeaders: Record<string, string | string[]>,
  body: string | Buffer,
  secrets = [AUTH_TOKEN],
  options = OPTIONS,
) => outcome((request) => verifyTwilio(request, options), signedRequest(requestHeaders, body, secrets));

const form = (signature: string | string[], extra: Record<string, string | string[]> = {}) => ({
  'Content-Type': FORM,
  'X-Twilio-Signature': signature,
  ...extra,
});
const json = (signature: string | string[]) => ({
  'Content-Type': JSON_TYPE,
  'X-Twilio-Signature': signature,
});

describe('verifyTwilio', () => {
  it('accepts a form webhook signed as twilio-node computes it, over the configured public PUBLIC_URL', () => {
    // Act
    const result = verify(form(signForm(SMS)), SMS);

    // Assess
    expect(result).toBe('accepted');
  });

  it('accepts a JSON webhook whose signed PUBLIC_URL carries the SHA-256 of the body (bodySHA256)', () => {
    // Act
    const result = verify(json(signJson(JSON_BODY)), JSON_BODY);

    // Assess
    expect(result).toBe('accepted');
  });

  it('appends bodySHA256 to a public PUBLIC_URL that already has a query string', () => {
    // Prepare
    const options: TwilioOptions = { scheme: 'twilio', publicUrl: `${PUBLIC_URL}?tenant=acme&region=eu` };

    // Act
    const result = verify(
      json(signJson(JSON_BODY, AUTH_TOKEN, options.publicUrl)),
      JSON_BODY,
      [AUTH_TOKEN],
      options,
    );

    // Assess
    expect(twilioJsonUrl(options.publicUrl, JSON_BODY)).toMatch(
      /\?tenant=acme&region=eu&bodySHA256=[0-9a-f]{64}$/,
    );
    expect(result).toBe('accepted');
  });

  it('computes HMAC-SHA1 over the PUBLIC_URL and the sorted name+value pairs, base64 encoded', () => {
    // Prepare: twilio-node's documented example
    const params = {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+12349013030',
      Digits: '1234',
      From: '+12349013030',
      To: '+18005551212',
    };
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    const manual = createHmac('sha1', AUTH_TOKEN)
      .update(`${url}CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030To+18005551212`)
      .digest('base64');

    // Act
    const result = verify(form(manual), new URLSearchParams(params).toString(), [AUTH_TOKEN], {
      scheme: 'twilio',
      publicUrl: url,
    });

    // Assess
    expect(twilioSignature(AUTH_TOKEN, url, params)).toBe(manual);
    expect(result).toBe('accepted');
  });

  it('signs a repeated parameter as twilio-node does: each distinct value, in sorted order', () => {
    // Prepare
    const body =
      'MediaUrl=https%3A%2F%2Fb.example%2F2&Body=hi&MediaUrl=https%3A%2F%2Fa.example%2F1&MediaUrl=https%3A%2F%2Fb.example%2F2';
    const manual = createHmac('sha1', AUTH_TOKEN)
      .update(`${PUBLIC_URL}BodyhiMediaUrlhttps://a.example/1MediaUrlhttps://b.example/2`)
      .digest('base64');

    // Act
    const result = verify(form(signForm(body)), body);

    // Assess
    expect(signForm(body)).toBe(manual);
    expect(result).toBe('accepted');
  });

  it('accepts a signature over the PUBLIC_URL with or without the default port, as twilio-node does', () => {
    // Prepare
    const withPort = 'https://hooks.example.com:443/webhooks/sms';
    const withPortOptions: TwilioOptions = { scheme: 'twilio', publicUrl: withPort };

    // Act
    const signedWithPort = verify(form(signForm(SMS, AUTH_TOKEN, withPort)), SMS);
    const configuredWithPort = verify(form(signForm(SMS)), SMS, [AUTH_TOKEN], withPortOptions);
    const otherPort = verify(
      form(signForm(SMS, AUTH_TOKEN, 'https://hooks.example.com:8443/webhooks/sms')),
      SMS,
    );

    // Assess
    expect([signedWithPort, configuredWithPort, otherPort]).toEqual([
      'accepted',
      'accepted',
      'signature_mismatch',
    ]);
  });

  it('accepts the primary or the secondary auth token during a rotation, and not a retired one', () => {
    // Prepare
    const secrets = [AUTH_TOKEN, SECONDARY_TOKEN];

    // Act
    const primary = verify(form(signForm(SMS, AUTH_TOKEN)), SMS, secrets);
    const secondary = verify(json(signJson(JSON_BODY, SECONDARY_TOKEN)), JSON_BODY, secrets);
    const retired = verify(form(signForm(SMS, 'retired0000000000000000000000000')), SMS, secrets);

    // Assess
    expect([primary, secondary, retired]).toEqual(['accepted', 'accepted', 'signature_mismatch']);
  });

  it.each([
    ['no signature header', { 'Content-Type': FORM }],
    ['an empty signature header', form('')],
  ])('rejects %s as missing_signature', (_, requestHeaders) => {
    // Act
    const result = verify(requestHeaders, SMS);

    // Assess
    expect(result).toBe('missing_signature');
  });

  it.each([
    ['another auth token', form(signForm(SMS, SECONDARY_TOKEN)), SMS],
    ['a changed parameter value', form(signForm(SMS)), SMS.replace('Body=Hello', 'Body=Hellp')],
    ['an added parameter', form(signForm(SMS)), `${SMS}&Forwarded=true`],
    ['a removed parameter', form(signForm(SMS)), SMS.replace('&NumSegments=1', '')],
    ['a JSON body changed by one byte', json(signJson(JSON_BODY)), JSON_BODY.replace('ERROR', 'ERRPR')],
    ['a JSON body with an appended newline', json(signJson(JSON_BODY)), `${JSON_BODY}\n`],
    [
      'a JSON body signed minified but sent pretty-printed',
      json(signJson(JSON_BODY)),
      JSON.stringify(JSON.parse(JSON_BODY), null, 2),
    ],
    ['a form signature presented with a JSON content type', json(signForm(SMS)), SMS],
    ['a JSON signature presented with a form content type', form(signJson(JSON_BODY)), JSON_BODY],
  ])('rejects %s as signature_mismatch', (_, requestHeaders, body) => {
    // Act
    const result = verify(requestHeaders, body);

    // Assess
    expect(result).toBe('signature_mismatch');
  });

  it('accepts a pretty-printed JSON body when the signed PUBLIC_URL carries the hash of those exact bytes', () => {
    // Prepare
    const pretty = JSON.stringify(JSON.parse(JSON_BODY), null, 2);

    // Act
    const result = verify(json(signJson(pretty)), pretty);

    // Assess
    expect(result).toBe('accepted');
  });

  it('rebuilds the PUBLIC_URL from the configuration only: a spoofed Host or X-Forwarded-* changes nothing', () => {
    // Prepare: a genuine Twilio signature, same account token, for another endpoint of the account
    const elsewhere = 'https://legacy.example.org/twilio/sms';
    const spoofed = {
      Host: 'legacy.example.org',
      'X-Forwarded-Host': 'legacy.example.org',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Port': '443',
      'X-Original-PUBLIC_URL': '/twilio/sms',
    };

    // Act
    const replayed = verify(form(signForm(SMS, AUTH_TOKEN, elsewhere), spoofed), SMS);
    const genuine = verify(
      form(signForm(SMS), { ...spoofed, 'X-Forwarded-Proto': 'http', Host: 'evil.example' }),
      SMS,
    );

    // Assess
    expect(replayed).toBe('signature_mismatch');
    expect(genuine).toBe('accepted');
  });

  it("checks the request's bodySHA256 query parameter against the body when the query is passed", () => {
    // Prepare
    const hash = (body: string) =>
      new URL(twilioJsonUrl(PUBLIC_URL, body)).searchParams.get('bodySHA256') ?? '';
    const run = (query: Record<string, string>, body = JSON_BODY) =>
      outcome(
        (request) => verifyTwilio(request, OPTIONS),
        signedRequest(json(signJson(JSON_BODY)), body, [AUTH_TOKEN], NOW_SECONDS, query),
      );

    // Act
    const matching = run({ bodySHA256: hash(JSON_BODY) });
    const withOtherParameters = run({ bodySHA256: hash(JSON_BODY), utm: 'x' });
    const otherHash = run({ bodySHA256: hash('{}') });
    const uppercaseHash = run({ bodySHA256: hash(JSON_BODY).toUpperCase() });
    const tamperedBody = run({ bodySHA256: hash(JSON_BODY) }, `${JSON_BODY} `);

    // Assess
    expect([matching, withOtherParameters]).toEqual(['accepted', 'accepted']);
    expect([otherHash, uppercaseHash, tamperedBody]).toEqual([
      'signature_mismatch',
      'signature_mismatch',
      'signature_mismatch',
    ]);
  });

  it('never takes the signature from the query string', () => {
    // Act
    const result = outcome(
      (request) => verifyTwilio(request, OPTIONS),
      signedRequest({ 'Content-Type': FORM }, SMS, [AUTH_TOKEN], NOW_SECONDS, {
        'X-Twilio-Signature': signForm(SMS),
        signature: signForm(SMS),
      }),
    );

    // Assess
    expect(result).toBe('missing_signature');
  });

  it('ignores the query string: a signature over an extended PUBLIC_URL or over another body hash does not match', () => {
    // Prepare
    const extendedUrl = `${PUBLIC_URL}?admin=true`;
    const otherBodyHash = twilioJsonUrl(PUBLIC_URL, '{"Level":"INFO"}');

    // Act
    const extended = verify(form(signForm(SMS, AUTH_TOKEN, extendedUrl)), SMS);
    const otherHash = verify(json(twilioSignature(AUTH_TOKEN, otherBodyHash, {})), JSON_BODY);

    // Assess
    expect([extended, otherHash]).toEqual(['signature_mismatch', 'signature_mismatch']);
  });

  const base64 = signForm(SMS);
  const sha1 = Buffer.from(base64, 'base64');
  it.each([
    ['27 base64 characters', base64.slice(0, 27)],
    ['29 base64 characters', `${base64}A`],
    ['base64 without padding', base64.replace(/=$/, '')],
    ['base64url characters', `${base64.slice(0, 26)}-_=`],
    ['a non-canonical spelling (unused bits set) of the right bytes', nonCanonicalBase64(base64)],
    ['the SHA-1 digest in hex', sha1.toString('hex')],
    [
      'an HMAC-SHA256 of the same content in base64 (no algorithm switch)',
      createHmac('sha256', AUTH_TOKEN).update(`${PUBLIC_URL}Body`).digest('base64'),
    ],
    ['a sha1= prefix', `sha1=${base64}`],
    ['surrounding spaces', ` ${base64} `],
    ['two signatures in one header', `${base64},${base64}`],
    ['a header over 1 KB', `${base64}${'A'.repeat(1100)}`],
  ])('rejects %s as malformed_signature', (_, signature) => {
    // Act
    const result = verify(form(signature), SMS);

    // Assess
    expect(result).toBe('malformed_signature');
  });

  it('rejects a request whose Content-Type is neither a form nor JSON as malformed_signature', () => {
    // Act
    const plain = verify({ 'Content-Type': 'text/plain', 'X-Twilio-Signature': base64 }, SMS);
    const none = verify({ 'X-Twilio-Signature': base64 }, SMS);

    // Assess
    expect([plain, none]).toEqual(['malformed_signature', 'malformed_signature']);
  });

  it.each([
    ['a malformed escape', 'Body=100%'],
    ['an escape of invalid UTF-8', 'Body=%FF'],
    ['raw invalid UTF-8', Buffer.from([0x42, 0x3d, 0xff])],
  ])('rejects a form body with %s as malformed_signature, even when twilio-node would sign it', (_, body) => {
    // Prepare
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;

    // Act
    const result = verify(form(signForm(text)), body);

    // Assess
    expect(result).toBe('malformed_signature');
  });

  it.each([
    ['X-Twilio-Signature', form([base64, base64])],
    ['Content-Type', { 'Content-Type': [FORM, JSON_TYPE], 'X-Twilio-Signature': base64 }],
    ['X-Twilio-Signature under two spellings', { ...form(base64), 'x-twilio-signature': base64 }],
  ])('rejects %s sent twice as duplicate_header', (_, requestHeaders) => {
    // Act
    const result = verify(requestHeaders, SMS);

    // Assess
    expect(result).toBe('duplicate_header');
  });

  it('finds the headers whatever the case of their names, and accepts Content-Type parameters', () => {
    // Act
    const upper = verify({ 'CONTENT-TYPE': `${FORM}; charset=UTF-8`, 'X-TWILIO-SIGNATURE': base64 }, SMS);
    const lower = verify(
      { 'content-type': 'Application/JSON', 'x-twilio-signature': signJson(JSON_BODY) },
      JSON_BODY,
    );

    // Assess
    expect([upper, lower]).toEqual(['accepted', 'accepted']);
  });

  it('rejects any single-byte change of a signed JSON body (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, index, mask) => {
          // Prepare
          const body = Buffer.from(bytes);
          const signed = json(signJson(body));

          // Act
          const result = verify(signed, mutateByte(body, index, mask));

          // Assess
          expect(verify(signed, body)).toBe('accepted');
          expect(result).toBe('signature_mismatch');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws nothing but SignatureVerificationError for arbitrary headers and bodies (property)', () => {
    const base64ish = fc.string({ unit: fc.constantFrom(...'AZaz09+/=-_ '), minLength: 26, maxLength: 30 });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 40 }), base64ish), { maxLength: 2 }),
        fc.array(fc.oneof(fc.constantFrom(FORM, JSON_TYPE, 'text/plain'), fc.string({ maxLength: 30 })), {
          maxLength: 2,
        }),
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
          fc.string({ maxLength: 64 }),
        ),
        (signature, contentType, body) => {
          // Act
          let thrown: unknown;
          try {
            verifyTwilio(
              signedRequest({ 'x-twilio-signature': signature, 'content-type': contentType }, body, [
                AUTH_TOKEN,
              ]),
              OPTIONS,
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

describe('verifyTwilio cross-checked with twilio-node validateRequest / validateRequestWithBody', () => {
  const fields = fc.dictionary(
    fc.oneof(
      fc.constantFrom('Body', 'From', 'To', 'MessageSid', 'MediaUrl0'),
      fc.string({ minLength: 1, maxLength: 10 }),
    ),
    fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 })),
    { minKeys: 1, maxKeys: 8 },
  );

  it('accepts every form webhook twilio-node validates, and a byte change only when twilio-node still validates it (property)', () => {
    fc.assert(
      fc.property(fields, fc.nat(), fc.integer({ min: 1, max: 255 }), (params, index, mask) => {
        // Prepare
        const body = new URLSearchParams(params).toString();
        const signature = signForm(body);
        const mutated = mutateByte(Buffer.from(body), index, mask);
        const mutatedText = mutated.toString('utf8');

        // Act
        const ours = verify(form(signature), body);
        const theirs = twilioLibrary.validateRequest(AUTH_TOKEN, signature, PUBLIC_URL, formParams(body));
        const oursMutated = verify(form(signature), mutated);
        const theirsMutated = twilioLibrary.validateRequest(
          AUTH_TOKEN,
          signature,
          PUBLIC_URL,
          formParams(mutatedText),
        );

        // Assess
        expect(theirs).toBe(true);
        expect(ours).toBe('accepted');
        if (oursMutated === 'accepted') expect(theirsMutated).toBe(true);
        if (!theirsMutated) expect(oursMutated).not.toBe('accepted');
      }),
      { numRuns: 300 },
    );
  });

  it('accepts every JSON webhook twilio-node validates with its body, and rejects what it rejects (property)', () => {
    fc.assert(
      fc.property(
        fc.jsonValue().map((value) => JSON.stringify(value)),
        fc.stringMatching(/^[0-9a-f]{32}$/),
        fc.boolean(),
        (body, token, tamper) => {
          // Prepare
          const url = twilioJsonUrl(PUBLIC_URL, body);
          const signature = twilioSignature(token, url, {});
          const sent = tamper ? `${body} ` : body;

          // Act
          const ours = verify(json(signature), sent, [token]);
          const theirs = twilioLibrary.validateRequestWithBody(token, signature, url, sent);

          // Assess
          expect(theirs).toBe(!tamper);
          expect(ours).toBe(tamper ? 'signature_mismatch' : 'accepted');
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('twilio.identify', () => {
  const headers = (values: Record<string, string | string[]> = {}) =>
    new RequestHeaders(
      Object.fromEntries(Object.entries(values).map(([name, value]) => [name, [value].flat()])),
    );
  const payload = (text: string) => formPayload(Buffer.from(text, 'utf8'));

  it('takes the event id from I-Twilio-Idempotency-Token when Twilio sends it', () => {
    // Act
    const identity = twilio.identify(
      headers({ 'I-Twilio-Idempotency-Token': 'a4fb7cf4-4b83-4d2a-a4b8-6ad2d2b5f8b4' }),
      payload(SMS),
      OPTIONS,
    );

    // Assess
    expect(identity).toEqual({
      eventId: 'a4fb7cf4-4b83-4d2a-a4b8-6ad2d2b5f8b4',
      eventType: 'message.received',
    });
  });

  it.each([
    [
      'a message status callback',
      'MessageSid=SM1&MessageStatus=delivered&SmsSid=SM1&SmsStatus=delivered',
      'SM1:delivered',
      'message.delivered',
    ],
    ['a legacy SMS webhook', 'SmsSid=SM2&SmsStatus=received', 'SM2:received', 'message.received'],
    ['a call status callback', 'CallSid=CA3&CallStatus=completed', 'CA3:completed', 'call.completed'],
    ['a request without a status', 'CallSid=CA4&Digits=1234', 'CA4', 'twilio.request'],
    ['a request without a SID', 'Foo=bar', undefined, 'twilio.request'],
  ])('identifies %s by its SID and status without the token header', (_, body, eventId, eventType) => {
    // Act
    const identity = twilio.identify(headers(), payload(body), OPTIONS);

    // Assess
    expect(identity).toEqual({ eventId, eventType });
  });

  it('gives distinct ids to the successive status callbacks of one message', () => {
    // Act
    const ids = ['queued', 'sent', 'delivered'].map(
      (status) =>
        twilio.identify(headers(), payload(`MessageSid=SM9&MessageStatus=${status}`), OPTIONS).eventId,
    );

    // Assess
    expect(new Set(ids).size).toBe(3);
  });

  it('reads JSON bodies too, and ignores a SID that is not a single string', () => {
    // Act
    const fromJson = twilio.identify(headers(), { CallSid: 'CA5', CallStatus: 'ringing' }, OPTIONS);
    const repeated = twilio.identify(headers(), payload('MessageSid=SM1&MessageSid=SM2'), OPTIONS);

    // Assess
    expect(fromJson).toEqual({ eventId: 'CA5:ringing', eventType: 'call.ringing' });
    expect(repeated.eventId).toBeUndefined();
  });
});
