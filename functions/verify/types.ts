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
}

/** Longest signature header accepted, in characters; real ones are under 300. */
export const MAX_SIGNATURE_HEADER_LENGTH = 1024;
/** Most signatures accepted in one header (several are sent only while a secret rolls). */
export const MAX_SIGNATURES_PER_HEADER = 5;
