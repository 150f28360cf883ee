import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SchemeOptions, SignatureScheme } from '../../functions/sources.js';
import { SCHEMES, verifySignature } from '../../functions/verify/index.js';
import { NOW_SECONDS, outcome, signedRequest } from './support/signed-request.js';
import {
  ed25519Pair,
  hmacSignature,
  slackSignature,
  twilioSignature,
  v1aEntry,
} from './support/vendor-signing.js';

const SECRET = 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEy';
const BODY = '{"id":"evt_1","type":"contact.created"}';
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text);

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
    algorithm: 'sha256',
    encoding: 'hex',
    eventId: { field: 'id' },
    eventType: { field: 'type' },
  },
};

/** For each scheme, headers that are valid for that scheme only. */
const signedFor: Record<SignatureScheme, Record<string, string>> = {
  stripe: {
    'stripe-signature': `t=${NOW_SECONDS},v1=${hmac(SECRET, `${NOW_SECONDS}.${BODY}`).digest('hex')}`,
  },
  shopify: { 'x-shopify-hmac-sha256': hmac(SECRET, BODY).digest('base64') },
  github: { 'x-hub-signature-256': `sha256=${hmac(SECRET, BODY).digest('hex')}` },
  'standard-webhooks': {
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(NOW_SECONDS),
    'webhook-signature': `v1,${hmac(Buffer.from(SECRET.slice(6), 'base64'), `msg_1.${NOW_SECONDS}.${BODY}`).digest('base64')}`,
  },
  slack: {
    'x-slack-request-timestamp': String(NOW_SECONDS),
    'x-slack-signature': slackSignature(SECRET, NOW_SECONDS, BODY),
  },
  twilio: {
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature': twilioSignature(SECRET, OPTIONS.twilio.publicUrl, { [BODY]: '' }),
  },
  hmac: { 'x-acme-signature': hmacSignature(OPTIONS.hmac, SECRET, BODY, NOW_SECONDS) },
};
const schemes = Object.keys(signedFor) as SignatureScheme[];

describe('SCHEMES', () => {
  it('has a scheme for every scheme name of the source options', () => {
    // Assess
    expect(Object.keys(SCHEMES).sort()).toEqual([...schemes].sort());
  });
});

describe('verifySignature', () => {
  it.each(schemes)('verifies %s requests with that scheme only', (scheme) => {
    // Act
    const results = schemes.map((headersOf) =>
      outcome(
        (request) => verifySignature(OPTIONS[scheme], request),
        signedRequest(signedFor[headersOf], BODY, [SECRET]),
      ),
    );

    // Assess
    expect(results).toEqual(
      schemes.map((headersOf) => (headersOf === scheme ? 'accepted' : 'missing_signature')),
    );
  });

  it('verifies Standard Webhooks v1a requests against a whpk_ public key', () => {
    // Prepare
    const pair = ed25519Pair();
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(NOW_SECONDS),
      'webhook-signature': v1aEntry(pair.privateKey, 'msg_1', NOW_SECONDS, BODY),
    };

    // Act
    const result = outcome(
      (request) => verifySignature(OPTIONS['standard-webhooks'], request),
      signedRequest(headers, BODY, [pair.verifying]),
    );

    // Assess
    expect(result).toBe('accepted');
  });

  it('refuses to verify without any secret', () => {
    // Act
    const run = () => verifySignature(OPTIONS.github, signedRequest(signedFor.github, BODY, []));

    // Assess
    expect(run).toThrow('verifySignature needs at least one secret');
  });
});
