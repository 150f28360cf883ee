/**
 * The HTTP client of every connector: one JSON request to a downstream system with a timeout that fits in
 * the caller's remaining time, an `Idempotency-Key` on mutating calls, and results classified for retries:
 * 2xx is returned; 408, 429, 5xx, network errors and timeouts throw `TransientUpstreamError` (retryable,
 * with the server's `Retry-After` when given); any other status throws `TerminalUpstreamError`. Redirects
 * are not followed (a downstream API that redirects is misconfigured, and a POST must not be replayed). A 2xx
 * whose body is not JSON or is larger than `MAX_RESPONSE_BYTES` is a transient failure: the outcome of the
 * call is unknown, and a retry with the same `Idempotency-Key` is safe.
 */

/** A retryable failure: the same request may succeed later. Step retries match this name. */
export class TransientUpstreamError extends Error {
  override readonly name = 'TransientUpstreamError';
  constructor(
    message: string,
    /** The downstream's `Retry-After`, seconds, when it sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** A failure that retrying cannot fix (a 4xx other than 408/429): the flow compensates and fails. */
export class TerminalUpstreamError extends Error {
  override readonly name = 'TerminalUpstreamError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface DownstreamRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL, already URL-encoded, e.g. `/customers/ada%40example.com`. */
  path: string;
  body?: unknown;
  /** Sent as `Idempotency-Key`; required by every mutating call of a connector. */
  idempotencyKey?: string;
}

/** Longest wait for one downstream call, milliseconds, however much time the function has left. */
export const MAX_CALL_TIMEOUT_MS = 5000;
/** Time kept back from the function's remaining time, milliseconds, to report a timeout cleanly. */
export const CALL_SAFETY_MARGIN_MS = 1000;
/**
 * Largest response body read, bytes. The connectors' answers are small JSON documents; a larger body is a
 * fault (or an attack) that must not exhaust the function's memory.
 */
export const MAX_RESPONSE_BYTES = 1_048_576;

/**
 * Sends one request and returns the parsed JSON response (`undefined` for an empty body).
 * @param remainingTimeMs the Lambda's remaining time, milliseconds; the call times out before it runs out
 * @throws TransientUpstreamError | TerminalUpstreamError
 */
export async function callDownstream(
  baseUrl: string,
  request: DownstreamRequest,
  remainingTimeMs: number,
): Promise<unknown> {
  const timeoutMs = Math.min(MAX_CALL_TIMEOUT_MS, remainingTimeMs - CALL_SAFETY_MARGIN_MS);
  if (timeoutMs <= 0) throw new TransientUpstreamError('no time left for the call');
  const what = `${request.method} ${request.path.split('/')[1] ?? ''}`;

  let response: Response;
  let text: string;
  try {
    response = await fetch(new URL(request.path.replace(/^\//, ''), withTrailingSlash(baseUrl)), {
      method: request.method,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        accept: 'application/json',
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(request.idempotencyKey ? { 'idempotency-key': request.idempotencyKey } : {}),
      },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    });
    text = await readCapped(response, MAX_RESPONSE_BYTES);
  } catch (error) {
    const reason =
      error instanceof ResponseTooLargeError
        ? error.message
        : (error as Error).name === 'TimeoutError'
          ? `timed out after ${timeoutMs} ms`
          : 'network error';
    throw new TransientUpstreamError(`${what}: ${reason}`);
  }

  if (response.status === 408 || response.status === 429 || response.status >= 500) {
    throw new TransientUpstreamError(
      `${what}: HTTP ${response.status}`,
      parseRetryAfter(response.headers.get('retry-after')),
    );
  }
  if (response.status < 200 || response.status >= 300) {
    throw new TerminalUpstreamError(`${what}: HTTP ${response.status}`, response.status);
  }
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new TransientUpstreamError(`${what}: response is not JSON`);
  }
}

class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

/**
 * The response body as text, reading at most `maxBytes`: a larger body (announced by `Content-Length` or
 * found while reading) is cancelled unread. @throws ResponseTooLargeError
 */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const tooLarge = () => new ResponseTooLargeError(`response is larger than ${maxBytes} bytes`);
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of response.body) {
    bytes += chunk.byteLength;
    if (bytes > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `Retry-After` as seconds: either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
