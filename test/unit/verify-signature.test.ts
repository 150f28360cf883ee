import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SignatureScheme } from '../../functions/contracts.js';
import { verifySignature } from '../../functions/verify/index.js';
import { NOW_SECONDS, outcome, signedRequest } from './support/signed-request.js';

const SECRET = 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEy';
const BODY = '{"id":"evt_1","type":"contact.created"}';
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text);

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
};
const schemes = Object.keys(signedFor) as SignatureScheme[];

describe('verifySignature', () => {
  it.each(schemes)('verifies %s requests with that scheme only', (scheme) => {
    // Act
    const results = schemes.map((headersOf) =>
      outcome(
        (request) => verifySignature(scheme, request),
        signedRequest(signedFor[headersOf], BODY, [SECRET]),
      ),
    );

    // Assess
    expect(results).toEqual(
      schemes.map((headersOf) => (headersOf === scheme ? 'accepted' : 'missing_signature')),
    );
  });

  it('refuses to verify without any secret', () => {
    // Act
    const run = () => verifySignature('github', signedRequest(signedFor.github, BODY, []));

    // Assess
    expect(run).toThrow('verifySignature needs at least one secret');
  });
});
