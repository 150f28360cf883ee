/** Why a webhook failed authentication. Every reason maps to HTTP 401; the reason is logged, never returned. */
export type VerificationFailure =
  | 'missing_signature'
  | 'malformed_signature'
  | 'duplicate_header'
  | 'stale_timestamp'
  | 'signature_mismatch';

/** Thrown by a verifier when a request is unsigned, malformed, stale or signed with another secret. */
export class SignatureVerificationError extends Error {
  override readonly name = 'SignatureVerificationError';
  constructor(readonly reason: VerificationFailure) {
    super(`webhook signature rejected: ${reason}`);
  }
}
