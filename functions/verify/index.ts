import type { SignatureScheme } from '../contracts.js';
import { verifyGithub } from './github.js';
import { verifyShopify } from './shopify.js';
import { verifyStandardWebhooks } from './standard-webhooks.js';
import { verifyStripe } from './stripe.js';
import type { SignedRequest } from './types.js';

export { SignatureVerificationError, type VerificationFailure } from './errors.js';
export { DuplicateHeaderError, RequestHeaders } from './headers.js';
export type { SignedRequest } from './types.js';

const verifiers: Record<SignatureScheme, (request: SignedRequest) => void> = {
  stripe: verifyStripe,
  shopify: verifyShopify,
  github: verifyGithub,
  'standard-webhooks': verifyStandardWebhooks,
};

/**
 * Verifies a webhook's signature with the given scheme against any of the source's active secrets.
 * Returns normally when the request is authentic.
 * @throws SignatureVerificationError with the reason (missing, malformed, duplicate header, stale, mismatch)
 */
export function verifySignature(scheme: SignatureScheme, request: SignedRequest): void {
  if (request.secrets.length === 0) throw new Error('verifySignature needs at least one secret');
  verifiers[scheme](request);
}
