import type { SchemeOptions, SignatureScheme } from '../sources.js';
import { github } from './github.js';
import { hmacScheme } from './hmac.js';
import { shopify } from './shopify.js';
import { slack } from './slack.js';
import { standardWebhooks } from './standard-webhooks.js';
import { stripe } from './stripe.js';
import { twilio } from './twilio.js';
import type { Scheme, SignedRequest } from './types.js';

export { SignatureVerificationError, type VerificationFailure } from './errors.js';
export { type FormFields, formPayload, parseForm } from './form.js';
export { DuplicateHeaderError, RequestHeaders } from './headers.js';
export type { BodyFormat, FoundIdentity, SignedRequest } from './types.js';

/** Every scheme, by name. */
export const SCHEMES: { [K in SignatureScheme]: Scheme<K> } = {
  stripe,
  shopify,
  github,
  'standard-webhooks': standardWebhooks,
  slack,
  twilio,
  hmac: hmacScheme,
};

/** The scheme of a source's options, typed for those options. */
export function schemeOf<O extends SchemeOptions>(options: O): Scheme<O['scheme']> {
  return SCHEMES[options.scheme] as unknown as Scheme<O['scheme']>;
}

/**
 * Verifies a webhook's signature with its source's scheme against any of the source's active secrets.
 * Returns normally when the request is authentic.
 * @throws SignatureVerificationError with the reason (missing, malformed, duplicate header, stale, mismatch)
 */
export function verifySignature(options: SchemeOptions, request: SignedRequest): void {
  if (request.secrets.length === 0) throw new Error('verifySignature needs at least one secret');
  schemeOf(options).verify(request, options as never);
}
