import type { SchemeOptions, SignatureScheme } from '../sources.js';
import type { RequestHeaders } from './headers.js';

/** What every verifier needs: the exact bytes received, the headers, and the source's active secrets. */
export interface SignedRequest {
  readonly headers: RequestHeaders;
  /** The raw request body, byte for byte as the vendor sent it. */
  readonly body: Buffer;
  /** Active signing secrets of the source, at least one (several during a rotation). */
  readonly secrets: readonly string[];
  /** Current time, Unix seconds. */
  readonly nowSeconds: number;
  /** Accepted clock difference for schemes that sign a timestamp, seconds, both directions. */
  readonly toleranceSeconds: number;
  /**
   * The query string parameters of the request (API Gateway `queryStringParameters`), when the caller has
   * them. Never a source of signatures, timestamps or URLs: only Twilio's `bodySHA256` is compared with the
   * SHA-256 of the body (which Twilio's verifier computes itself, so the query is optional).
   */
  readonly query?: Readonly<Record<string, string | undefined>>;
}

/** Longest signature header accepted, in characters; real ones are under 300. */
export const MAX_SIGNATURE_HEADER_LENGTH = 1024;
/** Most signatures accepted in one header (several are sent only while a secret rolls). */
export const MAX_SIGNATURES_PER_HEADER = 5;

/** How a body is encoded: JSON, or `application/x-www-form-urlencoded` (Twilio, Slack commands). */
export type BodyFormat = 'json' | 'form';

/** The vendor's own id and type of one delivery, as found in the request (checked by the caller). */
export interface FoundIdentity {
  eventId: unknown;
  eventType: unknown;
}

/**
 * One signature scheme: the body formats its vendors send, how to verify a request, and where its vendors
 * put the event id (stable across retries: the deduplication key) and the event type.
 */
export interface Scheme<K extends SignatureScheme> {
  readonly formats: readonly BodyFormat[];
  /** @throws SignatureVerificationError */
  verify(request: SignedRequest, options: Extract<SchemeOptions, { scheme: K }>): void;
  /** @param payload the parsed body: a JSON value, or an object of form fields */
  identify(
    headers: RequestHeaders,
    payload: unknown,
    options: Extract<SchemeOptions, { scheme: K }>,
  ): FoundIdentity;
}

/** The payload as an object of fields (empty when it is not an object). */
export function fieldsOf(payload: unknown): Record<string, unknown> {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
    ? (payload as Record<string, unknown>)
    : {};
}
