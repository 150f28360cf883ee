import { SignatureVerificationError } from './errors.js';

/** A header that must appear once was sent several times. */
export class DuplicateHeaderError extends Error {
  override readonly name = 'DuplicateHeaderError';
  constructor(readonly header: string) {
    super(`header ${header} was sent more than once`);
  }
}

/**
 * Case-insensitive view of a request's headers, built from API Gateway REST (payload 1.0)
 * `multiValueHeaders`, which keeps every value of a repeated header (`headers` keeps only the last one).
 */
export class RequestHeaders {
  private readonly values = new Map<string, string[]>();

  constructor(multiValueHeaders: Record<string, readonly (string | undefined)[] | undefined>) {
    for (const [name, list] of Object.entries(multiValueHeaders)) {
      const key = name.toLowerCase();
      const present = (list ?? []).filter((value): value is string => value !== undefined);
      this.values.set(key, [...(this.values.get(key) ?? []), ...present]);
    }
  }

  /** Builds the view from an API Gateway proxy event, preferring `multiValueHeaders`. */
  static fromEvent(event: {
    headers?: Record<string, string | undefined> | null;
    multiValueHeaders?: Record<string, string[] | undefined> | null;
  }): RequestHeaders {
    if (event.multiValueHeaders && Object.keys(event.multiValueHeaders).length > 0) {
      return new RequestHeaders(event.multiValueHeaders);
    }
    const single = Object.entries(event.headers ?? {}).map(([name, value]) => [name, [value]] as const);
    return new RequestHeaders(Object.fromEntries(single));
  }

  /**
   * The one value of a header, or `undefined` when absent.
   * @throws DuplicateHeaderError when the header was sent more than once: a second signature or timestamp
   *   header is how downgrade and confusion attacks start.
   */
  single(name: string): string | undefined {
    const list = this.values.get(name.toLowerCase());
    if (!list || list.length === 0) return undefined;
    if (list.length > 1) throw new DuplicateHeaderError(name.toLowerCase());
    return list[0];
  }
}

/**
 * The one value of a header a signature depends on.
 * @throws SignatureVerificationError (`duplicate_header`) when it was sent more than once
 */
export function signatureHeader(headers: RequestHeaders, name: string): string | undefined {
  try {
    return headers.single(name);
  } catch (error) {
    if (error instanceof DuplicateHeaderError) throw new SignatureVerificationError('duplicate_header');
    throw error;
  }
}
