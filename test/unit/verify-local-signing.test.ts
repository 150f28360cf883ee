import { describe, expect, it } from 'vitest';
import type { SchemeOptions, SignatureScheme } from '../../functions/sources.js';
import { verifySignature } from '../../functions/verify/index.js';
import {
  newSigningKeyPair,
  newSigningSecret,
  requestUrl,
  type SignOptions,
  signWebhook,
  verifyingKeyOf,
} from '../../local/signing.js';
import { NOW_SECONDS, outcome, signedRequest } from './support/signed-request.js';
import { twilioJsonUrl } from './support/vendor-signing.js';

const OPTIONS: { [K in SignatureScheme]: Extract<SchemeOptions, { scheme: K }> } = {
  stripe: { scheme: 'stripe' },
  shopify: { scheme: 'shopify' },
  github: { scheme: 'github' },
  'standard-webhooks': { scheme: 'standard-webhooks' },
  slack: { scheme: 'slack' },
  twilio: { scheme: 'twilio', publicUrl: 'https://hooks.example.com/webhooks/twilio' },
  hmac: {
    scheme: 'hmac',
    signatureHeader: 'X-Acme-Signature',
    algorithm: 'sha512',
    encoding: 'base64',
    prefix: 'v1=',
    timestampHeader: 'X-Acme-Timestamp',
    message: '{timestamp}:{body}',
    eventId: { header: 'X-Acme-Delivery' },
    eventType: { field: 'type' },
  },
};
const JSON_BODY = '{"id":"evt_local","type":"contact.created","name":"Zoë 東京"}';
const FORM_BODY =
  'MessageSid=SM1&MessageStatus=delivered&Body=Gr%C3%BC%C3%9Fe+%F0%9F%91%8B&MediaUrl=b&MediaUrl=a';

const verify = async (
  options: SchemeOptions,
  secret: string,
  verifying: string,
  body: string,
  sign: SignOptions = {},
) => {
  const headers = await signWebhook(options, secret, body, { timestamp: NOW_SECONDS, ...sign });
  return {
    headers,
    result: outcome(
      (request) => verifySignature(options, request),
      signedRequest(headers, body, [verifying]),
    ),
  };
};

describe('signWebhook', () => {
  it.each(Object.keys(OPTIONS) as SignatureScheme[])(
    'signs %s requests that the hub accepts with a secret from newSigningSecret',
    async (scheme) => {
      // Prepare
      const options = OPTIONS[scheme];
      const secret = newSigningSecret(options);
      const body = scheme === 'twilio' ? FORM_BODY : JSON_BODY;

      // Act
      const { headers, result } = await verify(options, secret, secret, body);
      const otherSecret = await verify(options, newSigningSecret(options), secret, body);

      // Assess
      expect(headers['content-type']).toBe(
        scheme === 'twilio' ? 'application/x-www-form-urlencoded' : 'application/json',
      );
      expect(result).toBe('accepted');
      expect(otherSecret.result).toBe('signature_mismatch');
    },
  );

  it('signs Slack form bodies and Twilio JSON bodies when asked', async () => {
    // Prepare
    const slackSecret = newSigningSecret(OPTIONS.slack);
    const twilioToken = newSigningSecret(OPTIONS.twilio);

    // Act
    const slack = await verify(OPTIONS.slack, slackSecret, slackSecret, FORM_BODY, { format: 'form' });
    const twilio = await verify(OPTIONS.twilio, twilioToken, twilioToken, JSON_BODY, { format: 'json' });

    // Assess
    expect(slack.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(twilio.headers['content-type']).toBe('application/json');
    expect([slack.result, twilio.result]).toEqual(['accepted', 'accepted']);
  });

  it('signs Standard Webhooks v1a with a whsk_ private key, verified with its whpk_ public key', async () => {
    // Prepare
    const pair = newSigningKeyPair();

    // Act
    const { headers, result } = await verify(
      OPTIONS['standard-webhooks'],
      pair.signing,
      pair.verifying,
      JSON_BODY,
    );
    const withOtherKey = await verify(
      OPTIONS['standard-webhooks'],
      pair.signing,
      newSigningKeyPair().verifying,
      JSON_BODY,
    );

    // Assess
    expect(pair.signing).toMatch(/^whsk_[A-Za-z0-9+/]{43}=$/);
    expect(pair.verifying).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(verifyingKeyOf(pair.signing)).toBe(pair.verifying);
    expect(headers['webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(result).toBe('accepted');
    expect(withOtherKey.result).toBe('signature_mismatch');
  });

  it('puts the delivery id and event type in the headers the source options name', async () => {
    // Act
    const headers = await signWebhook(OPTIONS.hmac, 'secret', JSON_BODY, {
      eventId: 'd-1',
      timestamp: NOW_SECONDS,
    });

    // Assess
    expect(headers).toMatchObject({ 'X-Acme-Delivery': 'd-1', 'X-Acme-Timestamp': String(NOW_SECONDS) });
    expect(headers['X-Acme-Signature']).toMatch(/^v1=[A-Za-z0-9+/]{86}==$/);
  });
});

describe('requestUrl', () => {
  it('adds bodySHA256 for Twilio JSON bodies only', () => {
    // Act
    const twilioJson = requestUrl(OPTIONS.twilio, 'http://127.0.0.1:4566/webhooks/twilio', JSON_BODY, {
      format: 'json',
    });
    const twilioForm = requestUrl(OPTIONS.twilio, 'http://127.0.0.1:4566/webhooks/twilio', FORM_BODY);
    const stripe = requestUrl(OPTIONS.stripe, 'http://127.0.0.1:4566/webhooks/stripe', JSON_BODY);

    // Assess
    expect(twilioJson).toBe(twilioJsonUrl('http://127.0.0.1:4566/webhooks/twilio', JSON_BODY));
    expect(twilioForm).toBe('http://127.0.0.1:4566/webhooks/twilio');
    expect(stripe).toBe('http://127.0.0.1:4566/webhooks/stripe');
  });
});

describe('newSigningSecret', () => {
  it.each([
    ['stripe', /^whsec_[0-9a-f]{48}$/],
    ['standard-webhooks', /^whsec_[A-Za-z0-9+/]{43}=$/],
    ['slack', /^[0-9a-f]{32}$/],
    ['twilio', /^[0-9a-f]{32}$/],
    ['shopify', /^[0-9a-f]{64}$/],
    ['github', /^[0-9a-f]{64}$/],
    ['hmac', /^[0-9a-f]{64}$/],
  ] as const)('issues %s secrets in the vendor format, a new one each time', (scheme, format) => {
    // Act
    const secrets = [newSigningSecret({ scheme }), newSigningSecret({ scheme })];

    // Assess
    expect(secrets[0]).toMatch(format);
    expect(secrets[0]).not.toBe(secrets[1]);
  });
});
